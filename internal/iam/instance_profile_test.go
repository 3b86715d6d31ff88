package iam

import (
	"errors"
	"strings"
	"testing"
)

// TestInstanceProfiles covers a profile's life: one role at most, roles
// and profiles that cannot be deleted while linked, and listings.
func TestInstanceProfiles(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "ecsInstanceRole", AssumeRolePolicyDocument: serviceTrust(PrincipalEC2)}))
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "other", AssumeRolePolicyDocument: serviceTrust(PrincipalEC2)}))
	created := must(s.CreateInstanceProfile(ctx, &CreateInstanceProfileInput{InstanceProfileName: "ecsInstanceRole", Path: "/ecs/"}))
	p := created.InstanceProfile
	if p.Arn != "arn:aws:iam::123456789012:instance-profile/ecs/ecsInstanceRole" || !strings.HasPrefix(p.InstanceProfileId, "AIPA") || len(p.Roles) != 0 {
		t.Fatalf("CreateInstanceProfile = %+v", p)
	}
	add := func(profile, role string) error {
		_, err := s.AddRoleToInstanceProfile(ctx, &ProfileRoleInput{InstanceProfileName: profile, RoleName: role})
		return err
	}
	for _, tt := range []struct {
		name string
		err  error
		code string
	}{
		{"duplicate profile", second(s.CreateInstanceProfile(ctx, &CreateInstanceProfileInput{InstanceProfileName: "ECSINSTANCEROLE"})), "EntityAlreadyExists"},
		{"bad name", second(s.CreateInstanceProfile(ctx, &CreateInstanceProfileInput{InstanceProfileName: "a b"})), "ValidationError"},
		{"unknown profile", second(s.GetInstanceProfile(ctx, &InstanceProfileNameInput{InstanceProfileName: "nope"})), "NoSuchEntity"},
		{"add unknown role", add("ecsInstanceRole", "nope"), "NoSuchEntity"},
		{"add to unknown profile", add("nope", "other"), "NoSuchEntity"},
		{"add", add("ecsInstanceRole", "ecsInstanceRole"), ""},
		{"second role", add("ecsInstanceRole", "other"), "LimitExceeded"},
		{"same role again", add("ecsInstanceRole", "ecsInstanceRole"), "LimitExceeded"},
		{"delete role in a profile", second(s.DeleteRole(ctx, &RoleNameInput{RoleName: "ecsInstanceRole"})), "DeleteConflict"},
		{"delete profile with a role", second(s.DeleteInstanceProfile(ctx, &InstanceProfileNameInput{InstanceProfileName: "ecsInstanceRole"})), "DeleteConflict"},
	} {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.err, tt.code) })
	}
	got := must(s.GetInstanceProfile(ctx, &InstanceProfileNameInput{InstanceProfileName: "ecsinstancerole"})).InstanceProfile
	if len(got.Roles) != 1 || got.Roles[0].RoleName != "ecsInstanceRole" || got.Roles[0].AssumeRolePolicyDocument == "" {
		t.Fatalf("GetInstanceProfile roles = %+v", got.Roles)
	}
	must(s.CreateInstanceProfile(ctx, &CreateInstanceProfileInput{InstanceProfileName: "b-profile"}))
	if l := must(s.ListInstanceProfiles(ctx, &ListInstanceProfilesInput{})); len(l.InstanceProfiles) != 2 || l.InstanceProfiles[0].InstanceProfileName != "b-profile" {
		t.Fatalf("ListInstanceProfiles = %+v", l.InstanceProfiles)
	}
	if l := must(s.ListInstanceProfiles(ctx, &ListInstanceProfilesInput{PathPrefix: "/ecs/"})); len(l.InstanceProfiles) != 1 {
		t.Fatalf("ListInstanceProfiles /ecs/ = %+v", l.InstanceProfiles)
	}
	if l := must(s.ListInstanceProfilesForRole(ctx, &ListInstanceProfilesForRoleInput{RoleName: "ecsInstanceRole"})); len(l.InstanceProfiles) != 1 {
		t.Fatalf("ListInstanceProfilesForRole = %+v", l.InstanceProfiles)
	}
	_, err := s.RemoveRoleFromInstanceProfile(ctx, &ProfileRoleInput{InstanceProfileName: "ecsInstanceRole", RoleName: "other"})
	wantCode(t, err, "NoSuchEntity")
	must(s.RemoveRoleFromInstanceProfile(ctx, &ProfileRoleInput{InstanceProfileName: "ecsInstanceRole", RoleName: "ecsInstanceRole"}))
	must(s.DeleteRole(ctx, &RoleNameInput{RoleName: "ecsInstanceRole"}))
	must(s.DeleteInstanceProfile(ctx, &InstanceProfileNameInput{InstanceProfileName: "ecsInstanceRole"}))
	_, err = s.GetInstanceProfile(ctx, &InstanceProfileNameInput{InstanceProfileName: "ecsInstanceRole"})
	wantCode(t, err, "NoSuchEntity")
}

// TestInstanceCredentials: whoever launches an instance with a profile
// needs iam:PassRole on its role, the role must trust EC2, and the agent
// then acts as an assumed-role session named after the instance, with the
// role's permissions and no others.
func TestInstanceCredentials(t *testing.T) {
	s := newTestService(t)
	ctx := as(root)
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "ecsInstanceRole", AssumeRolePolicyDocument: serviceTrust(PrincipalEC2)}))
	must(s.CreateRole(ctx, &CreateRoleInput{RoleName: "tasksOnly", AssumeRolePolicyDocument: serviceTrust(PrincipalECSTasks)}))
	wantCode(t, s.attach(ctx, kindRole, "Attach", &attachInput{RoleName: "ecsInstanceRole", PolicyArn: "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"}, true), "")
	for name, role := range map[string]string{"ecsInstanceRole": "ecsInstanceRole", "wrongTrust": "tasksOnly"} {
		must(s.CreateInstanceProfile(ctx, &CreateInstanceProfileInput{InstanceProfileName: name}))
		must(s.AddRoleToInstanceProfile(ctx, &ProfileRoleInput{InstanceProfileName: name, RoleName: role}))
	}
	must(s.CreateInstanceProfile(ctx, &CreateInstanceProfileInput{InstanceProfileName: "empty"}))
	must(s.CreateUser(ctx, &CreateUserInput{UserName: "launcher"}))
	launcher := s.userPrincipal(t, "launcher")

	for _, tt := range []struct {
		name    string
		caller  bool // the user instead of root
		profile string
		code    string
	}{
		{"root", false, "ecsInstanceRole", ""},
		{"user without iam:PassRole", true, "ecsInstanceRole", "AccessDeniedException"},
		{"role does not trust ec2", false, "wrongTrust", "AccessDeniedException"},
		{"profile without a role", false, "empty", "ValidationError"},
		{"unknown profile", false, "nope", "NoSuchEntity"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := ctx
			if tt.caller {
				c = as(launcher)
			}
			_, err := s.InstanceCredentials(c, tt.profile, "i-0123456789abcdef0")
			wantCode(t, err, tt.code)
		})
	}

	must(s.PutUserPolicy(ctx, "launcher", "pass", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/ecsInstanceRole"}]}`))
	rs := must(s.InstanceCredentials(as(launcher), "ecsInstanceRole", "i-0123456789abcdef0"))
	if rs.AssumedRoleArn != "arn:aws:sts::123456789012:assumed-role/ecsInstanceRole/i-0123456789abcdef0" ||
		!strings.HasPrefix(rs.AccessKeyId, "ASIA") || rs.Expiration.Sub(s.now()) < 5*60*60e9 {
		t.Fatalf("InstanceCredentials = %+v", rs)
	}
	key, ok, err := s.ResolveKey(ctx, rs.AccessKeyId)
	if err != nil || !ok || key.SessionToken != rs.SessionToken {
		t.Fatalf("ResolveKey = %+v %v %v", key, ok, err)
	}
	agent := key.Principal
	for action, want := range map[string]bool{
		"ecs:RegisterContainerInstance": true, "ecs:Poll": true, "ecs:SubmitTaskStateChange": true,
		"ecr:GetAuthorizationToken": true, "ecs:RunTask": false, "iam:CreateUser": false,
	} {
		err := s.Authorize(ctx, agent, action, "*")
		if (err == nil) != want {
			t.Errorf("instance role %s: err = %v, want allowed=%v", action, err, want)
		}
	}

	// A service session needs the role to trust the service.
	if _, err := s.ServiceSession(ctx, PrincipalECSTasks, "arn:aws:iam::123456789012:role/ecsInstanceRole", "task"); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("ecs-tasks assuming an EC2 role: err = %v", err)
	}
	if _, err := s.ServiceSession(ctx, PrincipalECSTasks, "arn:aws:iam::123456789012:role/nope", "task"); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("unknown role: err = %v", err)
	}
	task := must(s.ServiceSession(ctx, PrincipalECSTasks, "arn:aws:iam::123456789012:role/tasksOnly", "0123abcd"))
	if task.AssumedRoleArn != "arn:aws:sts::123456789012:assumed-role/tasksOnly/0123abcd" {
		t.Fatalf("task session = %+v", task)
	}
}
