package iam

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// revision is the store's current revision, which every write moves.
func (s *Service) revision(t testing.TB) int64 {
	t.Helper()
	rev, err := s.store.CurrentRev(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// TestSessionSourceInstance: only a session ServiceSession issued to EC2
// for an instance profile is bound to its instance; a session that a
// caller assumes under an instance's name is not.
func TestSessionSourceInstance(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	if err := s.EnsureInstanceRole(ctx, "ecsInstanceRole"); err != nil {
		t.Fatal(err)
	}
	accountTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "anyone", AssumeRolePolicyDocument: accountTrust}))
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "task", AssumeRolePolicyDocument: serviceTrust(PrincipalECSTasks)}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "u"}))
	must(s.PutUserPolicy(ctx, "u", "assume", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`))
	user := s.userPrincipal(t, "u")

	instance := must(s.InstanceCredentials(ctx, "ecsInstanceRole", "i-0aaa0000000000000"))
	assumed := must(s.AssumeRole(as(user), &AssumeRoleInput{RoleArn: "arn:aws:iam::123456789012:role/anyone", RoleSessionName: "i-0aaa0000000000000"}))
	task := must(s.ServiceSession(ctx, PrincipalECSTasks, "arn:aws:iam::123456789012:role/task", "i-0aaa0000000000000"))
	for _, tt := range []struct {
		name, keyID, want string
	}{
		{"instance profile session", instance.AccessKeyId, "i-0aaa0000000000000"},
		{"AssumeRole session named like an instance", assumed.Credentials.AccessKeyId, ""},
		{"task role session", task.AccessKeyId, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k, ok, err := s.ResolveKey(context.Background(), tt.keyID)
			if err != nil || !ok {
				t.Fatalf("ResolveKey: %v %v", ok, err)
			}
			if k.Principal.SourceInstance != tt.want {
				t.Fatalf("SourceInstance = %q, want %q", k.Principal.SourceInstance, tt.want)
			}
		})
	}
}

// TestServiceSessionReuse: a service session is handed out again, with no
// store write, until half its lifetime; then a new one is made. Sessions
// of different roles, names or services are distinct; a role that no
// longer exists gets nothing although its session is still reusable, and
// one made again under the same name gets a new session.
func TestServiceSessionReuse(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	clock := time.Now()
	s.now = func() time.Time { return clock }
	if err := s.EnsureInstanceRole(ctx, "ecsInstanceRole"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"task", "exec"} {
		must(s.CreateRole(ctx, &CreateRoleInput{RoleName: name, AssumeRolePolicyDocument: serviceTrust(PrincipalECSTasks)}))
	}
	const taskRole, execRole = "arn:aws:iam::123456789012:role/task", "arn:aws:iam::123456789012:role/exec"

	first := must(s.ServiceSession(ctx, PrincipalECSTasks, taskRole, "t1"))
	instance := must(s.InstanceCredentials(ctx, "ecsInstanceRole", "i-0aaa0000000000000"))
	rev := s.revision(t)
	for range 100 {
		if again := must(s.ServiceSession(ctx, PrincipalECSTasks, taskRole, "t1")); again != first {
			t.Fatalf("a second read made a new session: %+v, first %+v", again, first)
		}
		if again := must(s.InstanceCredentials(ctx, "ecsInstanceRole", "i-0aaa0000000000000")); again != instance {
			t.Fatalf("a second instance credentials read made a new session: %+v, first %+v", again, instance)
		}
	}
	if got := s.revision(t); got != rev {
		t.Fatalf("200 reads of reused credentials wrote %d times", got-rev)
	}

	for name, other := range map[string]func() (RoleSession, error){
		"execution role of the same task": func() (RoleSession, error) { return s.ServiceSession(ctx, PrincipalECSTasks, execRole, "t1") },
		"another task":                    func() (RoleSession, error) { return s.ServiceSession(ctx, PrincipalECSTasks, taskRole, "t2") },
		"another instance": func() (RoleSession, error) {
			return s.InstanceCredentials(ctx, "ecsInstanceRole", "i-0bbb0000000000000")
		},
	} {
		rs, err := other()
		if err != nil || rs.AccessKeyId == first.AccessKeyId || rs.AccessKeyId == instance.AccessKeyId {
			t.Fatalf("%s: %v, got the same keys %s", name, err, rs.AccessKeyId)
		}
	}

	clock = clock.Add(DefaultServiceSessionDuration/2 - time.Minute)
	if again := must(s.ServiceSession(ctx, PrincipalECSTasks, taskRole, "t1")); again != first {
		t.Fatal("a new session before half the lifetime")
	}
	clock = clock.Add(time.Minute)
	renewed := must(s.ServiceSession(ctx, PrincipalECSTasks, taskRole, "t1"))
	if renewed.AccessKeyId == first.AccessKeyId || !renewed.Issued.Equal(s.nowUTC()) {
		t.Fatalf("at half the lifetime: %+v (first %s)", renewed, first.AccessKeyId)
	}

	must(s.DeleteRole(ctx, &RoleNameInput{RoleName: "task"}))
	if _, err := s.ServiceSession(ctx, PrincipalECSTasks, taskRole, "t1"); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("a deleted role's reusable session: err = %v", err)
	}
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "task", AssumeRolePolicyDocument: serviceTrust(PrincipalECSTasks)}))
	if again := must(s.ServiceSession(ctx, PrincipalECSTasks, taskRole, "t1")); again.AccessKeyId == renewed.AccessKeyId {
		t.Fatal("a role made again under the same name got the old role's session")
	}
}

// TestExpiringCache: entries are gone once expired, put drops the expired
// ones it finds at the top of its heap, and a full cache drops the entry
// that expires first.
func TestExpiringCache(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newExpiringCache[int](3)
	c.put("a", 1, now.Add(time.Minute), now)
	c.put("b", 2, now.Add(time.Hour), now)
	c.put("c", 3, now.Add(2*time.Minute), now)
	if v, ok := c.get("a", now); !ok || v != 1 {
		t.Fatalf("get a = %d %v", v, ok)
	}
	if _, ok := c.get("a", now.Add(time.Minute)); ok {
		t.Fatal("an entry is served at its expiry")
	}
	c.put("c", 30, now.Add(3*time.Hour), now) // a new expiry moves it in the heap
	c.put("d", 4, now.Add(4*time.Hour), now)  // full: a, which expires first, goes
	if _, ok := c.get("a", now); ok || c.len() != 3 {
		t.Fatalf("full cache kept a (len %d)", c.len())
	}
	later := now.Add(2 * time.Hour) // b has expired
	c.put("e", 5, later.Add(time.Hour), later)
	if _, ok := c.get("b", now); ok || c.len() != 3 {
		t.Fatalf("expired b was not dropped (len %d)", c.len())
	}
	for k, want := range map[string]int{"c": 30, "d": 4, "e": 5} {
		if v, ok := c.get(k, later); !ok || v != want {
			t.Fatalf("get %s = %d %v, want %d", k, v, ok, want)
		}
	}
}

// BenchmarkServiceSession times handing out a task role's credentials
// again (the reuse path: the role's trust read and checked, no write).
func BenchmarkServiceSession(b *testing.B) {
	s := newTestService(b)
	ctx := as(root)
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "task", AssumeRolePolicyDocument: serviceTrust(PrincipalECSTasks)}))
	for i := range 1000 { // other tasks' sessions in the cache
		must(s.ServiceSession(ctx, PrincipalECSTasks, "arn:aws:iam::123456789012:role/task", fmt.Sprintf("t%d", i)))
	}
	b.ResetTimer()
	for b.Loop() {
		must(s.ServiceSession(ctx, PrincipalECSTasks, "arn:aws:iam::123456789012:role/task", "t1"))
	}
}
