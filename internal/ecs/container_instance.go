package ecs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/placement"
	"github.com/berth-dev/berth/internal/store"
)

// reservation is what one task holds on its container instance.
type reservation struct {
	CPU      int    `json:"cpu"`
	Memory   int    `json:"memory"`
	GPU      int    `json:"gpu,omitempty"`
	Ports    []int  `json:"ports,omitempty"`
	PortsUDP []int  `json:"portsUdp,omitempty"`
	Group    string `json:"group,omitempty"`
}

// instanceRecord is a container instance as stored: its registration plus
// what the tasks placed on it hold. The usage changes in the same
// transaction as the tasks, so remaining resources are always exact.
type instanceRecord struct {
	ID      string `json:"id"`
	Cluster string `json:"cluster"`
	// RegisteredBy is the ARN of the caller that first registered the
	// instance; besides the instance's own session only it may receive
	// the task role keys of the instance's tasks (see receivesKeys).
	RegisteredBy string            `json:"registeredBy,omitempty"`
	Instance     ContainerInstance `json:"instance"`
	Usage        usage             `json:"usage"`
}

// registered returns the registered integer resource (CPU or MEMORY).
func (r *instanceRecord) registered(name string) int {
	for _, res := range r.Instance.RegisteredResources {
		if res.Name == name {
			return res.IntegerValue
		}
	}
	return 0
}

// registeredPorts returns the ports reserved at registration.
func (r *instanceRecord) registeredPorts(name string) []int {
	var out []int
	for _, res := range r.Instance.RegisteredResources {
		if res.Name == name {
			for _, p := range res.StringSetValue {
				if n, err := strconv.Atoi(p); err == nil {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// remaining computes free CPU, memory and the ports in use.
func (r *instanceRecord) remaining() (cpu, mem int, ports, portsUDP []int) {
	cpu, mem = r.registered("CPU"), r.registered("MEMORY")
	ports, portsUDP = r.registeredPorts("PORTS"), r.registeredPorts("PORTS_UDP")
	cpu -= r.Usage.CPU
	mem -= r.Usage.Memory
	ports = append(ports, r.Usage.Ports...)
	portsUDP = append(portsUDP, r.Usage.PortsUDP...)
	slices.Sort(ports)
	slices.Sort(portsUDP)
	return cpu, mem, slices.Compact(ports), slices.Compact(portsUDP)
}

// remainingGPUs is the number of the instance's registered GPUs (the
// GPU resource's set of device ids) that no task holds.
func (r *instanceRecord) remainingGPUs() int {
	for _, res := range r.Instance.RegisteredResources {
		if res.Name == "GPU" {
			return len(res.StringSetValue) - r.Usage.GPU
		}
	}
	return 0
}

func portStrings(ports []int) []string {
	out := make([]string, len(ports))
	for i, p := range ports {
		out[i] = strconv.Itoa(p)
	}
	return out
}

func intResource(name string, v int) Resource {
	return Resource{Name: name, Type: "INTEGER", IntegerValue: v}
}

func portsResource(name string, ports []int) Resource {
	return Resource{Name: name, Type: "STRINGSET", StringSetValue: portStrings(ports)}
}

// view renders the record as the API reports it.
func (r *instanceRecord) view(connected bool) ContainerInstance {
	ci := r.Instance
	cpu, mem, ports, portsUDP := r.remaining()
	ci.RemainingResources = []Resource{intResource("CPU", cpu), intResource("MEMORY", mem), portsResource("PORTS", ports), portsResource("PORTS_UDP", portsUDP)}
	ci.AgentConnected = connected && ci.Status != "INACTIVE"
	ci.RunningTasksCount, ci.PendingTasksCount = r.Usage.Running, r.Usage.Pending
	ci.Attributes = orEmpty(ci.Attributes)
	ci.Tags = orEmpty(ci.Tags)
	ci.Attachments = []Attachment{}
	return ci
}

type RegisterContainerInstanceInput struct {
	Cluster                  string `json:"cluster"`
	InstanceIdentityDocument string `json:"instanceIdentityDocument"`
	// InstanceIdentityDocumentSignature vouches for the document.
	InstanceIdentityDocumentSignature string      `json:"instanceIdentityDocumentSignature"`
	TotalResources                    []Resource  `json:"totalResources"`
	VersionInfo                       VersionInfo `json:"versionInfo"`
	ContainerInstanceArn              string      `json:"containerInstanceArn"`
	Attributes                        []Attribute `json:"attributes"`
	Tags                              []Tag       `json:"tags"`
}

type ContainerInstanceOutput struct {
	ContainerInstance ContainerInstance `json:"containerInstance"`
}

// identityDocument is the subset of the EC2 instance identity document ECS reads.
type identityDocument struct {
	InstanceID       string `json:"instanceId"`
	InstanceType     string `json:"instanceType"`
	AvailabilityZone string `json:"availabilityZone"`
	ImageID          string `json:"imageId"`
	Region           string `json:"region"`
}

// RegisterContainerInstance registers (or re-registers) an instance. Every
// attribute the agent sends is echoed back.
func (s *Service) RegisterContainerInstance(ctx context.Context, in *RegisterContainerInstanceInput) (*ContainerInstanceOutput, error) {
	name := clusterName(in.Cluster)
	if err := s.authorize(ctx, "RegisterContainerInstance", s.arn("cluster/"+name)); err != nil {
		return nil, err
	}
	if name == DefaultCluster {
		if _, err := s.ensureCluster(ctx, clusterRecord{Name: name, Status: "ACTIVE"}); err != nil {
			return nil, err
		}
	}
	if _, err := s.activeCluster(ctx, name); err != nil {
		return nil, err
	}
	var doc identityDocument
	if in.InstanceIdentityDocument != "" {
		if err := json.Unmarshal([]byte(in.InstanceIdentityDocument), &doc); err != nil {
			return nil, api.InvalidParameter("instanceIdentityDocument is not a valid JSON document.")
		}
	}
	if err := s.verifyIdentity(ctx, in, doc); err != nil {
		return nil, err
	}
	resources, err := validateTotalResources(in.TotalResources)
	if err != nil {
		return nil, err
	}
	for _, a := range in.Attributes {
		if err := validateAttribute(a); err != nil {
			return nil, err
		}
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	id := ""
	if in.ContainerInstanceArn != "" {
		id = lastSegment(in.ContainerInstanceArn)
	}
	if id == "" {
		id = newID()
	}
	key := s.keys.instance(name, id)
	for {
		it, err := store.Get[instanceRecord](ctx, s.store, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		rec := it.Value
		if it.Rev == 0 {
			if in.ContainerInstanceArn != "" {
				return nil, api.InvalidParameter("Container instance %s is not registered in cluster %s.", in.ContainerInstanceArn, name)
			}
			ec2ID, err := checkRegistration(ctx, doc, s.arn("cluster/"+name))
			if err != nil {
				return nil, err
			}
			rec = instanceRecord{ID: id, Cluster: name, RegisteredBy: api.PrincipalFrom(ctx).ARN, Instance: ContainerInstance{
				ContainerInstanceArn: s.arn("container-instance/" + name + "/" + id),
				Ec2InstanceId:        ec2ID,
				RegisteredAt:         api.Now(),
				Tags:                 in.Tags,
			}}
		} else if err := actsAs(ctx, "RegisterContainerInstance", &rec); err != nil {
			return nil, err
		} else if rec.Instance.Status == "INACTIVE" {
			return nil, api.ClientError("Container instance %s has been deregistered and cannot re-register.", rec.Instance.ContainerInstanceArn)
		} else if rec.RegisteredBy == "" {
			// Recorded before registrants were: the next registration
			// (its agent's, as it re-registers on every start) claims it.
			rec.RegisteredBy = api.PrincipalFrom(ctx).ARN
		}
		if rec.Instance.Status == "" {
			// New instances start ACTIVE; an agent re-registering (as it does on
			// every restart) must not undo an operator's DRAINING.
			rec.Instance.Status = "ACTIVE"
		}
		if rec.Instance.CapacityProviderName == "" {
			if rec.Instance.CapacityProviderName, err = s.providerOfInstance(ctx, name, rec.Instance.Ec2InstanceId); err != nil {
				return nil, err
			}
		}
		rec.Instance.Version++
		rec.Instance.VersionInfo = in.VersionInfo
		rec.Instance.RegisteredResources = resources
		rec.Instance.Attributes = mergeAttributes(rec.Instance.Attributes, in.Attributes, doc)
		if err := s.store.Commit(ctx, store.NewTxn().IfRev(key, it.Rev).Put(key, rec)); errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		s.log.Info("container instance registered", "cluster", name, "containerInstance", id, "ec2InstanceId", rec.Instance.Ec2InstanceId, "by", api.PrincipalFrom(ctx).ARN)
		return &ContainerInstanceOutput{ContainerInstance: rec.view(s.isConnected(ctx, id))}, nil
	}
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// validateTotalResources checks the agent's resources and fills the
// reserved ports ECS always holds back.
func validateTotalResources(in []Resource) ([]Resource, error) {
	var cpu, mem, gpu *Resource
	ports := map[string][]int{"PORTS": {22, 2375, 2376, 51678, 51679}, "PORTS_UDP": {}}
	for i := range in {
		r := in[i]
		switch r.Name {
		case "CPU":
			cpu = &r
		case "MEMORY":
			mem = &r
		case "GPU":
			// The ECS agent registers its GPUs as a set of device ids.
			gpu = &Resource{Name: "GPU", Type: "STRINGSET", StringSetValue: slices.Compact(slices.Sorted(slices.Values(r.StringSetValue)))}
		case "PORTS", "PORTS_UDP":
			for _, p := range r.StringSetValue {
				n, err := strconv.Atoi(p)
				if err != nil || n < 1 || n > 65535 {
					return nil, api.InvalidParameter("Invalid port %q in %s.", p, r.Name)
				}
				ports[r.Name] = append(ports[r.Name], n)
			}
		}
	}
	if cpu == nil || mem == nil {
		return nil, api.InvalidParameter("totalResources must include CPU and MEMORY.")
	}
	cpuV, memV := resourceInt(*cpu), resourceInt(*mem)
	if cpuV <= 0 || memV <= 0 {
		return nil, api.InvalidParameter("CPU and MEMORY resources must be positive.")
	}
	out := []Resource{intResource("CPU", cpuV), intResource("MEMORY", memV)}
	for _, name := range []string{"PORTS", "PORTS_UDP"} {
		p := ports[name]
		slices.Sort(p)
		out = append(out, portsResource(name, slices.Compact(p)))
	}
	if gpu != nil && len(gpu.StringSetValue) > 0 {
		out = append(out, *gpu)
	}
	return out, nil
}

// resourceInt reads a numeric resource whichever value field the client used.
func resourceInt(r Resource) int {
	switch {
	case r.IntegerValue != 0:
		return r.IntegerValue
	case r.LongValue != 0:
		return int(r.LongValue)
	default:
		return int(r.DoubleValue)
	}
}

var attrNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]{1,128}$`)

func validateAttribute(a Attribute) error {
	if !attrNameRE.MatchString(a.Name) {
		return api.InvalidParameter("Attribute name %q is invalid: up to 128 letters, numbers, hyphens, underscores, periods and slashes.", a.Name)
	}
	if a.Value != nil && len(*a.Value) > 128 {
		return api.InvalidParameter("Attribute value of %q is longer than 128 characters.", a.Name)
	}
	if a.TargetType != "" && a.TargetType != "container-instance" {
		return api.InvalidParameter("Invalid targetType %q: valid value is container-instance.", a.TargetType)
	}
	return nil
}

// mergeAttributes combines stored custom attributes with what the agent sent
// and what ECS derives from the identity document. Agent-sent values win.
func mergeAttributes(old, sent []Attribute, doc identityDocument) []Attribute {
	byName := map[string]Attribute{}
	for _, a := range old {
		byName[a.Name] = a
	}
	derived := map[string]string{"ecs.availability-zone": doc.AvailabilityZone, "ecs.instance-type": doc.InstanceType, "ecs.ami-id": doc.ImageID}
	for n, v := range derived {
		if v != "" {
			byName[n] = Attribute{Name: n, Value: ptr(v)}
		}
	}
	for _, a := range sent {
		byName[a.Name] = Attribute{Name: a.Name, Value: a.Value}
	}
	out := make([]Attribute, 0, len(byName))
	for _, a := range byName {
		a.TargetType, a.TargetId = "", ""
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// isConnected reports whether an agent holds an ACS connection for the instance.
func (s *Service) isConnected(ctx context.Context, id string) bool {
	ok, err := s.store.Exists(ctx, s.keys.connected(id))
	return err == nil && ok
}

// findInstance resolves an instance reference (ARN or id) in a cluster.
func (s *Service) findInstance(ctx context.Context, cluster, ref string) (store.Item[instanceRecord], bool, error) {
	id := lastSegment(ref)
	if id == "" {
		return store.Item[instanceRecord]{}, false, nil
	}
	it, err := store.Get[instanceRecord](ctx, s.store, s.keys.instance(cluster, id))
	if errors.Is(err, store.ErrNotFound) {
		return it, false, nil
	}
	return it, err == nil, err
}

type DeregisterContainerInstanceInput struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
	Force             *bool  `json:"force"`
}

// DeregisterContainerInstance removes an instance from its cluster. Without
// force it refuses while tasks run on it.
func (s *Service) DeregisterContainerInstance(ctx context.Context, in *DeregisterContainerInstanceInput) (*ContainerInstanceOutput, error) {
	it, err := s.registeredInstance(ctx, "DeregisterContainerInstance", in.Cluster, in.ContainerInstance)
	if err != nil {
		return nil, err
	}
	if err := actsAs(ctx, "DeregisterContainerInstance", &it.Value); err != nil {
		return nil, err
	}
	rec, err := store.Update(ctx, s.store, it.Key, func(r *instanceRecord) error {
		if r.Usage.tasks() > 0 && (in.Force == nil || !*in.Force) {
			return api.InvalidParameter("Found running tasks on the instance.")
		}
		r.Instance.Status = "INACTIVE"
		r.Instance.Version++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if in.Force != nil && *in.Force {
		// Nothing reports on the instance's tasks any more.
		reason := "Task stopped because its container instance " + rec.Instance.ContainerInstanceArn + " was deregistered."
		if _, err := s.stopTasksOnInstance(ctx, rec.Cluster, rec.ID, stopCodeDeregistered, reason); err != nil {
			return nil, err
		}
		s.kickScheduler()
	}
	return &ContainerInstanceOutput{ContainerInstance: rec.view(false)}, nil
}

type DescribeContainerInstancesInput struct {
	Cluster            string   `json:"cluster"`
	ContainerInstances []string `json:"containerInstances"`
	Include            []string `json:"include"`
}

type DescribeContainerInstancesOutput struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// DescribeContainerInstances describes instances; unknown ones are MISSING failures.
func (s *Service) DescribeContainerInstances(ctx context.Context, in *DescribeContainerInstancesInput) (*DescribeContainerInstancesOutput, error) {
	if len(in.ContainerInstances) == 0 {
		return nil, api.InvalidParameter("containerInstances cannot be empty.")
	}
	if len(in.ContainerInstances) > 100 {
		return nil, api.InvalidParameter("At most 100 container instances can be described at once.")
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &DescribeContainerInstancesOutput{ContainerInstances: []ContainerInstance{}, Failures: []Failure{}}
	for _, ref := range in.ContainerInstances {
		it, found, err := s.findInstance(ctx, cl.Value.Name, ref)
		if err != nil {
			return nil, err
		}
		if !found || it.Value.fargateHost() {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = s.arn("container-instance/" + cl.Value.Name + "/" + ref)
			}
			out.Failures = append(out.Failures, Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		if err := s.authorize(ctx, "DescribeContainerInstances", it.Value.Instance.ContainerInstanceArn); err != nil {
			return nil, err
		}
		ci := it.Value.view(s.isConnected(ctx, it.Value.ID))
		if !slices.Contains(in.Include, "TAGS") {
			ci.Tags = []Tag{}
		}
		out.ContainerInstances = append(out.ContainerInstances, ci)
	}
	return out, nil
}

type ListContainerInstancesInput struct {
	Cluster    string  `json:"cluster"`
	Filter     string  `json:"filter"`
	Status     string  `json:"status"`
	NextToken  *string `json:"nextToken"`
	MaxResults *int    `json:"maxResults"`
}

type ListContainerInstancesOutput struct {
	ContainerInstanceArns []string `json:"containerInstanceArns"`
	NextToken             *string  `json:"nextToken,omitempty"`
}

// ListContainerInstances lists a cluster's instances, optionally by status.
func (s *Service) ListContainerInstances(ctx context.Context, in *ListContainerInstancesInput) (*ListContainerInstancesOutput, error) {
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListContainerInstances", s.arn("cluster/"+cl.Value.Name)); err != nil {
		return nil, err
	}
	if in.Status != "" && !slices.Contains([]string{"ACTIVE", "DRAINING", "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"}, in.Status) {
		return nil, api.InvalidParameter("Invalid status %q.", in.Status)
	}
	var filter placement.Expr
	if in.Filter != "" {
		e, err := placement.ParseExpr(in.Filter)
		if err != nil {
			return nil, api.InvalidParameter("Invalid filter %q: %s", in.Filter, err)
		}
		filter = e
	}
	items, err := store.List[instanceRecord](ctx, s.store, s.keys.instances(cl.Value.Name))
	if err != nil {
		return nil, err
	}
	var connected map[string]bool
	if filter != nil {
		if connected, err = s.connectedInstances(ctx); err != nil {
			return nil, err
		}
	}
	var arns []string
	for _, it := range items {
		st := it.Value.Instance.Status
		if st == "INACTIVE" || (in.Status != "" && st != in.Status) || it.Value.fargateHost() {
			continue
		}
		if filter != nil {
			v := placementView(&it.Value, connected[it.Value.ID])
			if !filter.Eval(&v) {
				continue
			}
		}
		arns = append(arns, it.Value.Instance.ContainerInstanceArn)
	}
	sort.Strings(arns)
	page, next, err := api.Paginate(arns, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	return &ListContainerInstancesOutput{ContainerInstanceArns: orEmpty(page), NextToken: next}, nil
}

type UpdateContainerInstancesStateInput struct {
	Cluster            string   `json:"cluster"`
	ContainerInstances []string `json:"containerInstances"`
	Status             string   `json:"status"`
}

// UpdateContainerInstancesState sets instances ACTIVE or DRAINING. A
// DRAINING instance gets no new tasks.
func (s *Service) UpdateContainerInstancesState(ctx context.Context, in *UpdateContainerInstancesStateInput) (*DescribeContainerInstancesOutput, error) {
	if in.Status != "ACTIVE" && in.Status != "DRAINING" {
		return nil, api.InvalidParameter("Container instance status can only be updated to ACTIVE or DRAINING.")
	}
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, api.InvalidParameter("containerInstances must name between 1 and 10 container instances.")
	}
	cl, err := s.activeCluster(ctx, in.Cluster)
	if err != nil {
		return nil, err
	}
	out := &DescribeContainerInstancesOutput{ContainerInstances: []ContainerInstance{}, Failures: []Failure{}}
	for _, ref := range in.ContainerInstances {
		it, found, err := s.findInstance(ctx, cl.Value.Name, ref)
		if err != nil {
			return nil, err
		}
		if !found || it.Value.Instance.Status == "INACTIVE" {
			out.Failures = append(out.Failures, Failure{Arn: ref, Reason: "MISSING"})
			continue
		}
		if err := s.authorize(ctx, "UpdateContainerInstancesState", it.Value.Instance.ContainerInstanceArn); err != nil {
			return nil, err
		}
		if err := actsAs(ctx, "UpdateContainerInstancesState", &it.Value); err != nil {
			return nil, err
		}
		rec, err := store.Update(ctx, s.store, it.Key, func(r *instanceRecord) error {
			if r.Instance.Status != in.Status {
				r.Instance.Status = in.Status
				r.Instance.Version++
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out.ContainerInstances = append(out.ContainerInstances, rec.view(s.isConnected(ctx, rec.ID)))
	}
	return out, nil
}

type DiscoverPollEndpointInput struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
}

type DiscoverPollEndpointOutput struct {
	Endpoint               string `json:"endpoint"`
	TelemetryEndpoint      string `json:"telemetryEndpoint"`
	ServiceConnectEndpoint string `json:"serviceConnectEndpoint"`
}

// DiscoverPollEndpoint tells an agent where to open its ACS and telemetry websockets.
func (s *Service) DiscoverPollEndpoint(ctx context.Context, in *DiscoverPollEndpointInput) (*DiscoverPollEndpointOutput, error) {
	if err := s.authorize(ctx, "DiscoverPollEndpoint", "*"); err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(s.cfg.Endpoint, "/")
	return &DiscoverPollEndpointOutput{Endpoint: base, TelemetryEndpoint: base + "/tcs", ServiceConnectEndpoint: base}, nil
}

type UpdateContainerAgentInput struct {
	Cluster           string `json:"cluster"`
	ContainerInstance string `json:"containerInstance"`
}

// UpdateContainerAgent answers as ECS does for an agent it has nothing
// newer for: an instance's agent is the Berth binary that runs it, which
// Berth upgrades with itself, so there is never an update to apply.
func (s *Service) UpdateContainerAgent(ctx context.Context, in *UpdateContainerAgentInput) (*DescribeContainerInstancesOutput, error) {
	if in.ContainerInstance == "" {
		return nil, api.InvalidParameter("containerInstance is required.")
	}
	it, err := s.registeredInstance(ctx, "UpdateContainerAgent", in.Cluster, in.ContainerInstance)
	if err != nil {
		return nil, err
	}
	if it.Value.Instance.VersionInfo.AgentVersion == "" {
		return nil, api.Errorf("MissingVersionException", "Amazon ECS is unable to determine the current version of the Amazon ECS container agent on the container instance and does not have enough information to proceed with an update.")
	}
	return nil, api.Errorf("NoUpdateAvailableException", "There is no update available for your Amazon ECS container agent.")
}

// registeredInstance finds an instance still registered with an active
// cluster and authorizes action on it.
func (s *Service) registeredInstance(ctx context.Context, action, cluster, ref string) (store.Item[instanceRecord], error) {
	cl, err := s.activeCluster(ctx, cluster)
	if err != nil {
		return store.Item[instanceRecord]{}, err
	}
	it, found, err := s.findInstance(ctx, cl.Value.Name, ref)
	if err != nil {
		return it, err
	}
	if !found || it.Value.Instance.Status == "INACTIVE" {
		return it, api.InvalidParameter("The referenced container instance %s was not found.", ref)
	}
	return it, s.authorize(ctx, action, it.Value.Instance.ContainerInstanceArn)
}
