package ec2

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/berth-dev/berth/internal/api"
)

// TestLaunchTemplates: the article's launch template (image, type, user
// data joining a cluster, instance profile, security group), versions,
// $Latest/$Default and what RunInstances will resolve.
func TestLaunchTemplates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ami := e.svc.Images()[0].ID
	sg := must[*ec2.CreateSecurityGroupOutput](t)(e.root.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("hosts"), Description: aws.String("d")})).GroupId
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho ECS_CLUSTER=demo >> /etc/ecs/ecs.config\n"))
	created := must[*ec2.CreateLaunchTemplateOutput](t)(e.root.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("ecs-demo"), VersionDescription: aws.String("first"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(ami), InstanceType: types.InstanceTypeT3Medium, UserData: aws.String(userData),
			IamInstanceProfile: &types.LaunchTemplateIamInstanceProfileSpecificationRequest{Name: aws.String("ecsInstanceRole")},
			SecurityGroupIds:   []string{aws.ToString(sg)},
			TagSpecifications:  []types.LaunchTemplateTagSpecificationRequest{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{{Key: aws.String("Name"), Value: aws.String("ecs-host")}}}}},
	})).LaunchTemplate
	id := aws.ToString(created.LaunchTemplateId)
	if aws.ToInt64(created.DefaultVersionNumber) != 1 || aws.ToInt64(created.LatestVersionNumber) != 1 || aws.ToString(created.CreatedBy) != testAccount.RootARN() {
		t.Fatalf("created %+v", created)
	}
	_, err := e.root.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("ecs-demo"), LaunchTemplateData: &types.RequestLaunchTemplateData{}})
	wantCode(t, err, "InvalidLaunchTemplateName.AlreadyExistsException")
	_, err = e.root.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("bad-ami"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String("ami-00000000000000000")}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	_, err = e.root.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("bad-type"), LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: "z9.huge"}})
	wantCode(t, err, "InvalidParameterValue")

	// Version 2 changes the type over version 1.
	v2 := must[*ec2.CreateLaunchTemplateVersionOutput](t)(e.root.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(id), SourceVersion: aws.String("1"), LaunchTemplateData: &types.RequestLaunchTemplateData{InstanceType: types.InstanceTypeM5Large}})).LaunchTemplateVersion
	if aws.ToInt64(v2.VersionNumber) != 2 || aws.ToBool(v2.DefaultVersion) || v2.LaunchTemplateData.InstanceType != types.InstanceTypeM5Large || aws.ToString(v2.LaunchTemplateData.ImageId) != ami {
		t.Fatalf("v2 = %+v", v2)
	}
	for _, tc := range []struct{ version, wantType string }{{"$Default", "t3.medium"}, {"$Latest", "m5.large"}, {"2", "m5.large"}, {"", "t3.medium"}} {
		d, err := e.svc.ResolveLaunchTemplate(ctx, "", "ecs-demo", tc.version)
		if err != nil || d.InstanceType != tc.wantType || d.UserData != userData || d.IamInstanceProfile.Name != "ecsInstanceRole" {
			t.Fatalf("resolve %q: %+v %v", tc.version, d, err)
		}
	}
	if _, err := e.svc.ResolveLaunchTemplate(ctx, id, "", "9"); err == nil || api.AsError(err).Code != "InvalidLaunchTemplateId.VersionNotFound" {
		t.Fatalf("missing version: %v", err)
	}
	must[*ec2.ModifyLaunchTemplateOutput](t)(e.root.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(id), DefaultVersion: aws.String("2")}))
	versions := must[*ec2.DescribeLaunchTemplateVersionsOutput](t)(e.root.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateName: aws.String("ecs-demo"), Versions: []string{"$Default"}})).LaunchTemplateVersions
	if len(versions) != 1 || aws.ToInt64(versions[0].VersionNumber) != 2 || !aws.ToBool(versions[0].DefaultVersion) {
		t.Fatalf("$Default versions %+v", versions)
	}
	all := must[*ec2.DescribeLaunchTemplateVersionsOutput](t)(e.root.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)})).LaunchTemplateVersions
	if len(all) != 2 || len(all[0].LaunchTemplateData.SecurityGroupIds) != 1 || aws.ToString(all[0].LaunchTemplateData.TagSpecifications[0].Tags[0].Value) != "ecs-host" {
		t.Fatalf("all versions %+v", all)
	}
	listed := must[*ec2.DescribeLaunchTemplatesOutput](t)(e.root.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"ecs-demo"}})).LaunchTemplates
	if len(listed) != 1 || aws.ToInt64(listed[0].DefaultVersionNumber) != 2 || aws.ToInt64(listed[0].LatestVersionNumber) != 2 {
		t.Fatalf("listed %+v", listed)
	}
	must[*ec2.DeleteLaunchTemplateOutput](t)(e.root.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("ecs-demo")}))
	_, err = e.root.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"ecs-demo"}})
	wantCode(t, err, "InvalidLaunchTemplateName.NotFoundException")
	if keys, _ := e.st.Keys(ctx, e.svc.keys.templateVersions(id)); len(keys) != 0 {
		t.Fatalf("versions left after delete: %v", keys)
	}
}
