package ecs

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gorilla/websocket"

	"github.com/berth-dev/berth/internal/acs"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/iam"
)

// TestACSRoleCredentials: an agent that keeps credentials itself (the ECS
// agent) gets a task role's keys in the payload when it asks with
// sendCredentials=true, and fresh keys in IAMRoleCredentialsMessages before
// they expire; without sendCredentials the refresh delivers them; Berth's
// agent (taskCredentials=endpoint) gets none on its connection.
func TestACSRoleCredentials(t *testing.T) {
	e := newEnv(t)
	idm := iam.New(testAccount, e.st, quietLogger(), iam.WithServiceSessionDuration(2*time.Second))
	e.svc.roles = idm
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.svc.StartACS(ctx, ACSOptions{Heartbeat: time.Second}); err != nil {
		t.Fatal(err)
	}
	acct := auth.Account{ID: testAccount, RootAccessKeyID: "AKIAACSTEST000000001", RootSecretAccessKey: "acsTestSecretKey/0123456789abcdefghijklmn"}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", e.svc.ACSHandler(auth.NewAuthenticator(acct, testRegion).For("ecs")))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	creds := aws.Credentials{AccessKeyID: acct.RootAccessKeyID, SecretAccessKey: acct.RootSecretAccessKey}

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	if _, err := idm.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: "app", AssumeRolePolicyDocument: trust}); err != nil {
		t.Fatal(err)
	}
	cluster := e.cluster("acscreds")
	inst := e.instance(cluster, 2048, 4096, instanceOpts{attrs: []Attribute{{Name: capTaskIAMRole}}})
	reg, err := e.svc.RegisterTaskDefinition(e.ctx, &RegisterTaskDefinitionInput{Family: "withrole",
		TaskRoleArn: "arn:aws:iam::" + testAccount + ":role/app", ContainerDefinitions: []ContainerDefinition{container("app", 128, 128)}})
	if err != nil {
		t.Fatal(err)
	}
	taskArn := e.run(cluster, reg.TaskDefinition.TaskDefinitionArn, 1).Tasks[0].TaskArn

	// A connection's frames arrive on a channel (a websocket read that
	// timed out cannot be resumed); frames collects those of one type for d.
	type frame = acs.Incoming
	type agentConn struct {
		*websocket.Conn
		in chan frame
	}
	frames := func(conn agentConn, typ string, d time.Duration) []json.RawMessage {
		var out []json.RawMessage
		timeout := time.After(d)
		for {
			select {
			case f := <-conn.in:
				if f.Type == typ {
					out = append(out, f.Message)
				}
			case <-timeout:
				return out
			}
		}
	}
	dial := func(extra url.Values) agentConn {
		q := url.Values{"clusterArn": {cluster}, "containerInstanceArn": {inst.ContainerInstanceArn}, "protocolVersion": {"2"}}
		for k, v := range extra {
			q[k] = v
		}
		conn, _, err := acs.Dial(context.Background(), srv.URL+"/ws?"+q.Encode(), creds, testRegion)
		if err != nil {
			t.Fatal(err)
		}
		c := agentConn{conn, make(chan frame, 100)}
		go func() {
			for {
				var f frame
				if err := conn.ReadJSON(&f); err != nil {
					return
				}
				c.in <- f
			}
		}()
		return c
	}
	resolves := func(keys acs.IAMRoleCredentials) {
		t.Helper()
		k, ok, err := idm.ResolveKey(context.Background(), keys.AccessKeyId)
		if err != nil || !ok || k.SecretAccessKey != keys.SecretAccessKey || !strings.HasSuffix(k.Principal.ARN, ":assumed-role/app/"+lastSegment(taskArn)) {
			t.Fatalf("keys %+v do not authenticate as the task's role session: %+v %v %v", keys, k.Principal, ok, err)
		}
	}

	conn := dial(url.Values{"sendCredentials": {"true"}})
	payloads := frames(conn, acs.TypePayload, 500*time.Millisecond)
	if len(payloads) != 1 {
		t.Fatalf("want 1 payload, got %d", len(payloads))
	}
	var pm acs.PayloadMessage
	json.Unmarshal(payloads[0], &pm)
	first := pm.Tasks[0].RoleCredentials
	if first == nil || first.AccessKeyId == "" || first.Expiration == "" || first.RoleArn != "arn:aws:iam::"+testAccount+":role/app" {
		t.Fatalf("payload role credentials with sendCredentials=true: %+v", first)
	}
	resolves(*first)
	refreshes := frames(conn, acs.TypeIAMRoleCredentials, 3*time.Second)
	if len(refreshes) == 0 {
		t.Fatal("no IAMRoleCredentialsMessage before the 2 s credentials expired")
	}
	var rm acs.IAMRoleCredentialsMessage
	json.Unmarshal(refreshes[0], &rm)
	if rm.TaskArn != taskArn || rm.RoleType != "TaskApplication" || rm.RoleCredentials.CredentialsId != first.CredentialsId ||
		rm.RoleCredentials.AccessKeyId == first.AccessKeyId {
		t.Fatalf("refresh = %+v (first keys %s)", rm, first.AccessKeyId)
	}
	resolves(rm.RoleCredentials)
	conn.Close()

	conn = dial(nil)
	payloads = frames(conn, acs.TypePayload, 500*time.Millisecond)
	pm = acs.PayloadMessage{}
	json.Unmarshal(payloads[0], &pm)
	if rc := pm.Tasks[0].RoleCredentials; rc == nil || rc.AccessKeyId != "" {
		t.Fatalf("payload on reconnecting without sendCredentials: %+v", rc)
	}
	if len(frames(conn, acs.TypeIAMRoleCredentials, 2*time.Second)) == 0 {
		t.Fatal("a reconnected agent did not get the task's credentials")
	}
	conn.Close()

	conn = dial(url.Values{"taskCredentials": {"endpoint"}, "sendCredentials": {"false"}})
	defer conn.Close()
	payloads = frames(conn, acs.TypePayload, 500*time.Millisecond)
	pm = acs.PayloadMessage{}
	json.Unmarshal(payloads[0], &pm)
	if rc := pm.Tasks[0].RoleCredentials; rc == nil || rc.CredentialsId == "" || rc.AccessKeyId != "" {
		t.Fatalf("payload for an agent with a task endpoint: %+v", rc)
	}
	if n := len(frames(conn, acs.TypeIAMRoleCredentials, 2500*time.Millisecond)); n != 0 {
		t.Fatalf("an agent with a task endpoint got %d credentials messages", n)
	}
}
