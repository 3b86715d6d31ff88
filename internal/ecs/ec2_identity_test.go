package ecs

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
)

// TestEC2IdentityIsSigned: a container instance registers as an EC2
// instance of the account only with that instance's signed identity
// document; an unsigned or tampered document naming it is refused, and a
// document of an instance outside EC2 is taken as before.
func TestEC2IdentityIsSigned(t *testing.T) {
	e := newEnv(t)
	ctx := api.WithPrincipal(context.Background(), rootPrincipal)
	ec2Svc := ec2.New(ec2.Config{Region: testRegion, Account: testAccount}, e.st, api.RootOnly{}, quietLogger())
	if err := ec2Svc.EnsureDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	e.svc.cfg.Identity = ec2Svc
	e.cluster("ec2")
	res, err := ec2Svc.RunInstancesOn(ctx, &ec2.RunInstancesInput{ImageId: ec2Svc.Images()[0].ID, MinCount: 1, MaxCount: 1}, "host-1")
	if err != nil {
		t.Fatal(err)
	}
	insts, err := ec2Svc.Instances(ctx)
	if err != nil || len(insts) != 1 {
		t.Fatalf("instances %v %v", insts, err)
	}
	doc, sig, err := ec2Svc.InstanceIdentity(ctx, insts[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Instances[0].InstanceID
	otherSig := base64.StdEncoding.EncodeToString(make([]byte, 64))
	register := func(doc, sig string) (*ContainerInstanceOutput, error) {
		return e.svc.RegisterContainerInstance(ctx, &RegisterContainerInstanceInput{Cluster: "ec2", InstanceIdentityDocument: doc,
			InstanceIdentityDocumentSignature: sig, TotalResources: []Resource{{Name: "CPU", Type: "INTEGER", IntegerValue: 1024}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 1024}}})
	}
	for _, tc := range []struct {
		name, doc, sig string
	}{
		{"unsigned", `{"instanceId":"` + id + `"}`, ""},
		{"another signature", doc, otherSig},
		{"tampered document", strings.Replace(doc, `"t3.micro"`, `"m5.large"`, 1), sig},
		{"not base64", doc, "!!"},
	} {
		if _, err := register(tc.doc, tc.sig); errCode(err) != api.CodeInvalidParameterException {
			t.Fatalf("%s: %v, want InvalidParameterException", tc.name, err)
		}
	}
	out, err := register(doc, sig)
	if err != nil {
		t.Fatal(err)
	}
	if out.ContainerInstance.Ec2InstanceId != id {
		t.Fatalf("registered as %s, want %s", out.ContainerInstance.Ec2InstanceId, id)
	}
	// An instance that is not an EC2 instance of the account registers as
	// before, with its word.
	if _, err := register(`{"instanceId":"i-0123456789abcdef0"}`, ""); err != nil {
		t.Fatalf("outside EC2: %v", err)
	}
}
