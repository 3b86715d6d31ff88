package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/agent/dockerrt"
	"github.com/berth-dev/berth/internal/vpc"
)

// Labels of a task's pause container. It carries the instance's labels
// but not the task's (labelTaskArn): it is no container of the task's
// definition, and adopt leaves it to the hook.
const (
	labelPause    = "berth.pause"     // the task's ARN
	labelPauseENI = "berth.pause.eni" // the ENI attached to its namespace
)

// pauseStopTimeout bounds a pause container's stop; it exits on SIGTERM.
const pauseStopTimeout = 5 * time.Second

// taskENI is the ENI a task runs with in awsvpc network mode: the payload's
// one interface. ok is false for other network modes, and for an awsvpc
// task whose payload carries no interface (it then runs as before ENIs).
func taskENI(def *acs.Task) (eni acs.ElasticNetworkInterface, ok bool) {
	if def == nil || def.NetworkMode != "awsvpc" || len(def.ElasticNetworkInterfaces) == 0 {
		return eni, false
	}
	return def.ElasticNetworkInterfaces[0], true
}

// pauseName names a task's pause container as its containers are named
// (see dockerName), with a suffix no container's name can end with.
func pauseName(taskArn string, def *acs.Task) string {
	return "ecs-" + def.Family + "-" + def.Version + "-" + lastSegment(taskArn) + "-pause"
}

// taskInterface is how the host wires eni: its primary address with the
// prefix length of its subnet, whose gateway the payload gives in CIDR
// form ("172.31.0.1/20").
func taskInterface(eni acs.ElasticNetworkInterface) (vpc.TaskInterface, error) {
	gw, err := netip.ParsePrefix(eni.SubnetGatewayIpv4Address)
	if err != nil {
		return vpc.TaskInterface{}, fmt.Errorf("interface %s: subnet gateway %q: %w", eni.Ec2Id, eni.SubnetGatewayIpv4Address, err)
	}
	var primary string
	for _, a := range eni.IPV4Addresses {
		if a.Primary || primary == "" {
			primary = a.PrivateAddress
		}
		if a.Primary {
			break
		}
	}
	ip, err := netip.ParseAddr(primary)
	if err != nil {
		return vpc.TaskInterface{}, fmt.Errorf("interface %s: address %q: %w", eni.Ec2Id, primary, err)
	}
	return vpc.TaskInterface{ID: eni.Ec2Id, MAC: eni.MacAddress, Addr: netip.PrefixFrom(ip, gw.Bits()), Gateway: gw.Addr()}, nil
}

// eniHook gives an awsvpc task its network namespace: a pause container
// with no network of Docker's, holding the task's ENI (vpc.AttachTask);
// the task's containers join it (containerSpec) and share its one address
// and its loopback.
type eniHook struct {
	rt           Runtime
	cgroupParent string
	// labels are the instance's labels; the instance's ARN is known once
	// it has registered, before any task runs.
	labels func() map[string]string
	// exe is the executable the pause image is made of.
	exe func() (string, error)
	// report tells ECS the interface attachment's new status
	// (SubmitAttachmentStateChanges); nil reports nothing.
	report func(ctx context.Context, attachmentArn, status string)

	// pool holds started spares; nil keeps none.
	pool *pausePool

	mu    sync.Mutex
	image string // the pause image, once present
}

func (*eniHook) Name() string { return "task network interface" }

// Prerun starts (or finds) the task's pause container and attaches the
// task's ENI to its namespace.
func (h *eniHook) Prerun(ctx context.Context, taskArn string, def *acs.Task) error {
	eni, ok := taskENI(def)
	if !ok {
		return nil
	}
	if n := len(def.ElasticNetworkInterfaces); n != 1 {
		return fmt.Errorf("a task has one network interface; the payload has %d", n)
	}
	ti, err := taskInterface(eni)
	if err != nil {
		return err
	}
	st, err := h.pauseContainer(ctx, taskArn, def, eni)
	if err != nil {
		return err
	}
	if err := vpc.AttachTask(st.Pid, ti); err != nil {
		return err
	}
	// The task endpoint (169.254.170.2, DNAT'd to the host's loopback)
	// is reached through the interface's host end, as through the Docker
	// bridge; endpointRules drop anything else it sends to loopback.
	sysctl := filepath.Join("/proc/sys/net/ipv4/conf", vpc.TaskLinkName(ti.ID), "route_localnet")
	if err := os.WriteFile(sysctl, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("enable route_localnet for the task endpoint: %w", err)
	}
	h.reportAttachment(ctx, eni, "ATTACHED")
	return nil
}

// reportAttachment reports the attachment's status, as the ECS agent
// does once it has attached or detached a task's interface.
func (h *eniHook) reportAttachment(ctx context.Context, eni acs.ElasticNetworkInterface, status string) {
	if h.report != nil && eni.AttachmentArn != "" {
		h.report(ctx, eni.AttachmentArn, status)
	}
}

// pauseContainer returns the running pause container of the task: the
// one it has, a spare of the pool, or one created and started for it.
func (h *eniHook) pauseContainer(ctx context.Context, taskArn string, def *acs.Task, eni acs.ElasticNetworkInterface) (dockerrt.State, error) {
	name := pauseName(taskArn, def)
	st, err := h.rt.Inspect(ctx, name)
	if dockerrt.IsNotFound(err) && len(eni.DomainNameServers) == 0 {
		if spare, ok := h.pool.take(ctx, name); ok {
			return spare, nil
		}
	}
	if dockerrt.IsNotFound(err) {
		var spec dockerrt.ContainerSpec
		if spec, err = h.pauseSpec(ctx); err != nil {
			return st, err
		}
		spec.Name, spec.DNSServers = name, eni.DomainNameServers
		spec.Labels[labelPause], spec.Labels[labelPauseENI] = taskArn, eni.Ec2Id
		spec.CgroupParent = cmp.Or(taskCgroup(h.cgroupParent, taskArn, def), h.cgroupParent)
		_, err = h.rt.Create(ctx, spec)
		if err != nil && !dockerrt.IsConflict(err) {
			return st, fmt.Errorf("create pause container: %w", err)
		}
		st, err = h.rt.Inspect(ctx, name)
	}
	if err != nil {
		return st, err
	}
	if !st.Running {
		if err := h.rt.Start(ctx, st.ID); err != nil {
			return st, fmt.Errorf("start pause container: %w", err)
		}
		if st, err = h.rt.Inspect(ctx, st.ID); err != nil {
			return st, err
		}
	}
	if !st.Running || st.Pid == 0 {
		return st, fmt.Errorf("pause container %s is %s", name, st.Status)
	}
	return st, nil
}

// pauseSpec is what every pause container is: the pause image, the
// instance's labels, no network of Docker's, in the instance's control
// group.
func (h *eniHook) pauseSpec(ctx context.Context) (dockerrt.ContainerSpec, error) {
	image, err := h.pauseImage(ctx)
	if err != nil {
		return dockerrt.ContainerSpec{}, fmt.Errorf("pause image: %w", err)
	}
	return dockerrt.ContainerSpec{Image: image, Labels: h.labels(), NetworkMode: "none", CPUShares: 2,
		StopTimeout: pauseStopTimeout, CgroupParent: h.cgroupParent}, nil
}

// spareSpec is a spare pause container's spec.
func (h *eniHook) spareSpec(ctx context.Context) (dockerrt.ContainerSpec, error) {
	spec, err := h.pauseSpec(ctx)
	if err == nil {
		spec.Labels[labelPause] = pauseSpare
	}
	return spec, err
}

// pauseImage makes the pause image of the running executable, once.
func (h *eniHook) pauseImage(ctx context.Context) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.image != "" {
		return h.image, nil
	}
	exe, err := h.exe()
	if err != nil {
		return "", err
	}
	ref, err := pauseImageRef(exe)
	if err != nil {
		return "", err
	}
	ok, err := h.rt.ImageExists(ctx, ref)
	if err != nil {
		return "", err
	}
	if !ok {
		files, err := pauseFiles(exe)
		if err != nil {
			return "", err
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(writePauseRootfs(pw, files)) }()
		err = h.rt.ImportImage(ctx, ref, pr, pauseChanges)
		pr.CloseWithError(err) // ends the writer if the import stopped reading
		if err != nil {
			return "", err
		}
	}
	h.image = ref
	return ref, nil
}

// Stopped releases the task's interface as soon as its containers have
// stopped, as Postrun does.
func (h *eniHook) Stopped(ctx context.Context, taskArn string, def *acs.Task) error {
	return h.Postrun(ctx, taskArn, def)
}

// Postrun detaches the task's ENI and removes its pause container. It
// finds them by the pause container's labels, so it needs no payload.
func (h *eniHook) Postrun(ctx context.Context, taskArn string, def *acs.Task) error {
	var errs []error
	if eni, ok := taskENI(def); ok {
		err := vpc.DetachTask(eni.Ec2Id)
		if err == nil {
			h.reportAttachment(ctx, eni, "DETACHED")
		}
		errs = append(errs, err)
	}
	states, err := h.rt.List(ctx, map[string]string{labelPause: taskArn})
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	taken, err := h.takenSpare(ctx, taskArn, def)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, st := range append(states, taken...) {
		if id := st.Labels[labelPauseENI]; id != "" {
			errs = append(errs, vpc.DetachTask(id))
		}
		if err := h.rt.Stop(ctx, st.ID, pauseStopTimeout); err != nil && !dockerrt.IsNotFound(err) {
			errs = append(errs, err)
		}
		errs = append(errs, h.rt.Remove(ctx, st.ID))
	}
	return errors.Join(errs...)
}

// takenSpare finds the spare the task took, which is labelled a spare and
// named as the task's pause container: by that name when the payload is
// known, else among the spares by the task's id in their names.
func (h *eniHook) takenSpare(ctx context.Context, taskArn string, def *acs.Task) ([]dockerrt.State, error) {
	if def != nil {
		st, err := h.rt.Inspect(ctx, pauseName(taskArn, def))
		if dockerrt.IsNotFound(err) || err == nil && st.Labels[labelPause] != pauseSpare {
			return nil, nil
		}
		return []dockerrt.State{st}, err
	}
	spares, err := h.rt.List(ctx, map[string]string{labelPause: pauseSpare})
	suffix := "-" + lastSegment(taskArn) + "-pause"
	return slices.DeleteFunc(spares, func(st dockerrt.State) bool { return !strings.HasSuffix(st.Name, suffix) }), err
}

// instanceLabels are the labels every container of this instance carries.
func (a *Agent) instanceLabels() map[string]string {
	labels := map[string]string{labelInstance: a.instanceArn, labelCluster: a.cfg.Cluster}
	if a.cfg.EC2.ID != "" {
		labels[LabelEC2Instance] = a.cfg.EC2.ID
	}
	return labels
}

var _ TaskHook = (*eniHook)(nil)

// executable is the running executable, the pause process's.
var executable = os.Executable
