package ecs

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/iam"
)

// identityEnv is a Service authorizing with IAM, with the ACS and
// task-credentials endpoints served over HTTP, and a task with a task and
// an execution role on the instance of i-0aaa.
type identityEnv struct {
	*env
	idm     *iam.Service
	srv     *httptest.Server
	cluster string
	instA   ContainerInstance // registered by i-0aaa's session
	instB   ContainerInstance // registered by i-0bbb's session
	task    taskRecord        // on instA, with a task role
	a, b    caller            // the instances' sessions
	admin   caller            // a user with ecs:*, who registered neither
}

// caller is a principal with its keys.
type caller struct {
	ctx   context.Context
	creds aws.Credentials
}

func newIdentityEnv(t testing.TB) *identityEnv {
	e := &identityEnv{env: newEnv(t)}
	e.idm = iam.New(testAccount, e.st, quietLogger())
	e.svc.authz = e.idm
	e.svc.roles = e.idm
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := e.svc.StartACS(ctx, ACSOptions{Heartbeat: time.Second}); err != nil {
		t.Fatal(err)
	}
	acct := auth.Account{ID: testAccount, RootAccessKeyID: "AKIAIDENTITYTEST0001", RootSecretAccessKey: "identityTestSecretKey/0123456789abcdefghij"}
	authn := auth.NewAuthenticator(acct, testRegion)
	authn.UseKeys(e.idm)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", e.svc.ACSHandler(authn.For("ecs")))
	mux.Handle("GET /berth/task-credentials", e.svc.TaskCredentialsHandler(authn.For("ecs")))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)

	if err := e.idm.EnsureInstanceRole(e.ctx, "ecsInstanceRole"); err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	for _, name := range []string{"app", "exec"} {
		if _, err := e.idm.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: trust}); err != nil {
			t.Fatal(err)
		}
	}
	e.a, e.b = e.instanceSession("i-0aaa"), e.instanceSession("i-0bbb")
	e.admin = e.user("admin", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`)

	e.cluster = e.env.cluster("identity")
	e.instA = e.register(e.a, "i-0aaa")
	reg, err := e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{Family: "withrole",
		TaskRoleArn: "arn:aws:iam::" + testAccount + ":role/app", ExecutionRoleArn: "arn:aws:iam::" + testAccount + ":role/exec",
		ContainerDefinitions: []ContainerDefinition{container("app", 128, 128)}})
	if err != nil {
		t.Fatal(err)
	}
	taskArn := e.run(e.cluster, reg.TaskDefinition.TaskDefinitionArn, 1).Tasks[0].TaskArn
	it, found, err := e.svc.findTask(e.ctx, e.cluster, taskArn)
	if err != nil || !found || it.Value.Task.ContainerInstanceArn != e.instA.ContainerInstanceArn {
		t.Fatalf("task %s: %v %v %+v", taskArn, found, err, it.Value.Task)
	}
	e.task = it.Value
	e.instB = e.register(e.b, "i-0bbb")
	return e
}

// instanceSession returns the instance profile role's session of an instance.
func (e *identityEnv) instanceSession(id string) caller {
	e.t.Helper()
	rs, err := e.idm.InstanceCredentials(e.ctx, "ecsInstanceRole", id)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.keyCaller(rs.AccessKeyId, rs.SecretAccessKey, rs.SessionToken)
}

// user returns a new user with an inline policy.
func (e *identityEnv) user(name, doc string) caller {
	e.t.Helper()
	if _, err := e.idm.CreateUser(e.ctx, &iam.CreateUserInput{UserName: name}); err != nil {
		e.t.Fatal(err)
	}
	put := url.Values{"UserName": {name}, "PolicyName": {"p"}, "PolicyDocument": {doc}}
	if _, err := e.idm.QueryService().Call(e.ctx, "PutUserPolicy", put); err != nil {
		e.t.Fatal(err)
	}
	k, err := e.idm.CreateAccessKey(e.ctx, &iam.UserNameInput{UserName: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.keyCaller(k.AccessKey.AccessKeyId, k.AccessKey.SecretAccessKey, "")
}

func (e *identityEnv) keyCaller(id, secret, token string) caller {
	e.t.Helper()
	key, ok, err := e.idm.ResolveKey(context.Background(), id)
	if err != nil || !ok {
		e.t.Fatalf("resolve %s: %v %v", id, ok, err)
	}
	return caller{ctx: api.WithPrincipal(context.Background(), key.Principal),
		creds: aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: token}}
}

// register registers a container instance as c, with an identity document
// naming ec2ID, and marks its agent connected.
func (e *identityEnv) register(c caller, ec2ID string) ContainerInstance {
	e.t.Helper()
	out, err := e.svc.RegisterContainerInstance(c.ctx, e.registration(ec2ID, ""))
	if err != nil {
		e.t.Fatalf("register %s: %v", ec2ID, err)
	}
	e.connect(lastSegment(out.ContainerInstance.ContainerInstanceArn))
	return out.ContainerInstance
}

func (e *identityEnv) registration(ec2ID, arn string) *RegisterContainerInstanceInput {
	doc := ""
	if ec2ID != "" {
		doc = `{"instanceId":"` + ec2ID + `","availabilityZone":"us-east-1a"}`
	}
	return &RegisterContainerInstanceInput{Cluster: e.cluster, InstanceIdentityDocument: doc, ContainerInstanceArn: arn,
		TotalResources: []Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 2048}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 4096}},
		Attributes:     []Attribute{{Name: capTaskIAMRole}}}
}

// revision is the store's current revision: it moves with every write.
func (e *identityEnv) revision() int64 {
	e.t.Helper()
	resp, err := e.st.Client().Get(context.Background(), "/berth/none")
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.Header.Revision
}

// dialACS opens the ACS websocket for inst as c; on a refused handshake it
// returns the error code of the answer.
func (e *identityEnv) dialACS(c caller, inst ContainerInstance, q url.Values) (agentConn, string) {
	e.t.Helper()
	q.Set("clusterArn", e.cluster)
	q.Set("containerInstanceArn", inst.ContainerInstanceArn)
	conn, resp, err := acs.Dial(context.Background(), e.srv.URL+"/ws?"+q.Encode(), c.creds, testRegion)
	if err != nil {
		if resp == nil {
			e.t.Fatal(err)
		}
		return agentConn{}, errorType(e.t, resp)
	}
	e.t.Cleanup(func() { conn.Close() })
	ac := agentConn{Conn: conn, in: make(chan acsFrame, 100)}
	go func() {
		for {
			var f acsFrame
			if err := conn.ReadJSON(&f); err != nil {
				return
			}
			ac.in <- f
		}
	}()
	return ac, ""
}

// fetchCredentials asks the task-credentials endpoint as c; it returns the
// credentials or the answer's error code.
func (e *identityEnv) fetchCredentials(c caller, taskArn, id string) (TaskCredentials, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/berth/task-credentials?"+url.Values{"taskArn": {taskArn}, "credentialsId": {id}}.Encode(), nil)
	if err := acs.SignGet(context.Background(), req, c.creds, "ecs", testRegion); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return TaskCredentials{}, errorType(e.t, resp)
	}
	defer resp.Body.Close()
	var out TaskCredentials
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	return out, ""
}

// errorType is the AWS error code of a refused request (4xx only).
func errorType(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 400 || resp.StatusCode > 499 {
		t.Fatalf("status %d, want 4xx: %s", resp.StatusCode, body)
	}
	var e struct {
		Type string `json:"__type"`
	}
	json.Unmarshal(body, &e)
	return e.Type
}

type acsFrame = acs.Incoming

type agentConn struct {
	Conn interface{ Close() error }
	in   chan acsFrame
}

// payloadTasks collects the tasks of the payloads that arrive within d.
func (c agentConn) payloadTasks(d time.Duration) []acs.Task {
	var out []acs.Task
	timeout := time.After(d)
	for {
		select {
		case f := <-c.in:
			if f.Type == acs.TypePayload {
				var pm acs.PayloadMessage
				json.Unmarshal(f.Message, &pm)
				out = append(out, pm.Tasks...)
			}
		case <-timeout:
			return out
		}
	}
}

// TestInstanceActsOnlyAsItself: the instance profile session of one
// instance is refused, with AccessDeniedException and no store write,
// every agent action on another instance and its tasks: the ACS
// websocket, the task-credentials endpoint, re-registering its ARN,
// registering under its identity document, deregistering or draining it,
// and submitting task or container state for its tasks. The instance's
// own session may do each of them.
func TestInstanceActsOnlyAsItself(t *testing.T) {
	e := newIdentityEnv(t)
	credsID := e.task.Credentials.TaskRoleID
	for _, tt := range []struct {
		name string
		call func(c caller) error
	}{
		{"re-register its ARN", func(c caller) error {
			_, err := e.svc.RegisterContainerInstance(c.ctx, e.registration("", e.instA.ContainerInstanceArn))
			return err
		}},
		{"register under its identity document", func(c caller) error {
			_, err := e.svc.RegisterContainerInstance(c.ctx, e.registration("i-0aaa", ""))
			return err
		}},
		{"submit task state", func(c caller) error {
			_, err := e.svc.SubmitTaskStateChange(c.ctx, &SubmitTaskStateChangeInput{Cluster: e.cluster, Task: e.task.Task.TaskArn, Status: "RUNNING",
				Containers: []ContainerStateChange{{ContainerName: "app", Status: "RUNNING"}}})
			return err
		}},
		{"submit container state", func(c caller) error {
			_, err := e.svc.SubmitContainerStateChange(c.ctx, &SubmitContainerStateChangeInput{Cluster: e.cluster, Task: e.task.Task.TaskArn,
				ContainerName: "app", Status: "RUNNING"})
			return err
		}},
		{"drain it", func(c caller) error {
			_, err := e.svc.UpdateContainerInstancesState(c.ctx, &UpdateContainerInstancesStateInput{Cluster: e.cluster,
				ContainerInstances: []string{e.instA.ContainerInstanceArn}, Status: "DRAINING"})
			return err
		}},
		{"task credentials (in process)", func(c caller) error {
			_, err := e.svc.taskCredentials(c.ctx, e.task.Task.TaskArn, credsID)
			return err
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := *e
			e.env = e.env.with(t)
			rev := e.revision()
			wantCode(t, tt.call(e.b), api.CodeAccessDenied)
			if got := e.revision(); got != rev {
				t.Fatalf("the refused call wrote to the store (revision %d -> %d)", rev, got)
			}
			if err := tt.call(e.a); err != nil {
				t.Fatalf("the instance's own session: %v", err)
			}
		})
	}

	t.Run("ACS and the task-credentials endpoint over HTTP", func(t *testing.T) {
		e := *e
		e.env = e.env.with(t)
		rev := e.revision()
		for _, q := range []url.Values{{"sendCredentials": {"true"}}, {"taskCredentials": {"endpoint"}}} {
			if _, code := e.dialACS(e.b, e.instA, q); code != api.CodeAccessDenied {
				t.Fatalf("ACS for another instance (%v): %q, want %s", q, code, api.CodeAccessDenied)
			}
		}
		if _, code := e.fetchCredentials(e.b, e.task.Task.TaskArn, credsID); code != api.CodeAccessDenied {
			t.Fatalf("task credentials of another instance's task: %q, want %s", code, api.CodeAccessDenied)
		}
		if got := e.revision(); got != rev {
			t.Fatalf("the refused calls wrote to the store (revision %d -> %d)", rev, got)
		}

		conn, code := e.dialACS(e.a, e.instA, url.Values{"sendCredentials": {"true"}})
		if code != "" {
			t.Fatalf("ACS for the instance itself: %s", code)
		}
		tasks := conn.payloadTasks(time.Second)
		if len(tasks) != 1 || tasks[0].RoleCredentials == nil || tasks[0].RoleCredentials.AccessKeyId == "" {
			t.Fatalf("the instance's own payload has no task role keys: %+v", tasks)
		}
		creds, code := e.fetchCredentials(e.a, e.task.Task.TaskArn, credsID)
		if code != "" || !strings.HasSuffix(creds.RoleArn, ":role/app") || creds.AccessKeyId == "" {
			t.Fatalf("task credentials for the instance itself: %s %+v", code, creds)
		}
	})
}

// TestOnlyRegistrantReceivesKeys: a user allowed ecs:* keeps ECS's
// documented rights on an instance it did not register (it may poll it
// and re-register it) but never receives the keys of its tasks' roles,
// over ACS or the task-credentials endpoint; re-registering does not make
// it the registrant. The root user, which registered nothing, is refused
// the keys too.
func TestOnlyRegistrantReceivesKeys(t *testing.T) {
	e := newIdentityEnv(t)
	credsID := e.task.Credentials.TaskRoleID
	if _, err := e.svc.RegisterContainerInstance(e.admin.ctx, e.registration("", e.instA.ContainerInstanceArn)); err != nil {
		t.Fatalf("a user re-registering an instance: %v", err)
	}
	for _, q := range []url.Values{{"sendCredentials": {"true"}}, {"taskCredentials": {"endpoint"}}} {
		conn, code := e.dialACS(e.admin, e.instA, q)
		if code != "" {
			t.Fatalf("a user with ecs:Poll polling (%v): %s", q, code)
		}
		tasks := conn.payloadTasks(time.Second)
		if len(tasks) != 1 {
			t.Fatalf("payload tasks: %+v", tasks)
		}
		if rc := tasks[0].RoleCredentials; rc != nil {
			t.Fatalf("a user that did not register the instance got its task's role credentials (%v): %+v", q, rc)
		}
		conn.Conn.Close()
	}
	for name, c := range map[string]caller{"user": e.admin, "root": {ctx: e.ctx}} {
		_, err := e.svc.taskCredentials(c.ctx, e.task.Task.TaskArn, credsID)
		wantCode(t, err, api.CodeAccessDenied)
		if !strings.Contains(err.Error(), "only the instance itself and whoever registered it") {
			t.Fatalf("%s: message %q", name, err)
		}
	}
	if _, code := e.fetchCredentials(e.admin, e.task.Task.TaskArn, credsID); code != api.CodeAccessDenied {
		t.Fatalf("task credentials over HTTP for a user: %q", code)
	}

	// The root user registering an instance is its registrant.
	root := e.env.instance(e.cluster, 1024, 1024, instanceOpts{attrs: []Attribute{{Name: capTaskIAMRole}}})
	it, _, err := e.svc.findInstance(e.ctx, e.cluster, root.ContainerInstanceArn)
	if err != nil || !receivesKeys(rootPrincipal, &it.Value) || receivesKeys(e.admin.principal(), &it.Value) {
		t.Fatalf("registrant of an instance root registered = %q (%v)", it.Value.RegisteredBy, err)
	}
}

func (c caller) principal() api.Principal { return api.PrincipalFrom(c.ctx) }
