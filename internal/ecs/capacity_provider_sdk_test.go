package ecs

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
)

// TestCapacityProvidersThroughSDK drives capacity providers with
// aws-sdk-go-v2's ECS client over the real router, so the shapes are the
// ones the SDK decodes.
func TestCapacityProvidersThroughSDK(t *testing.T) {
	e, asg := cpEnv(t, "asg-sdk")
	client := e.sdkClient()
	ctx := context.Background()

	created, err := client.CreateCapacityProvider(ctx, &awsecs.CreateCapacityProviderInput{Name: aws.String("sdk-cp"),
		AutoScalingGroupProvider: &types.AutoScalingGroupProvider{AutoScalingGroupArn: aws.String(asgARN("asg-sdk")),
			ManagedScaling: &types.ManagedScaling{Status: types.ManagedScalingStatusEnabled, TargetCapacity: aws.Int32(90)}},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("infra")}}})
	if err != nil {
		t.Fatal(err)
	}
	cp := created.CapacityProvider
	if aws.ToString(cp.CapacityProviderArn) != arn("capacity-provider/sdk-cp") || cp.Status != types.CapacityProviderStatusActive ||
		aws.ToInt32(cp.AutoScalingGroupProvider.ManagedScaling.TargetCapacity) != 90 || cp.AutoScalingGroupProvider.ManagedTerminationProtection != types.ManagedTerminationProtectionDisabled {
		t.Fatalf("created %+v", cp)
	}
	desc, err := client.DescribeCapacityProviders(ctx, &awsecs.DescribeCapacityProvidersInput{CapacityProviders: []string{"sdk-cp"},
		Include: []types.CapacityProviderField{types.CapacityProviderFieldTags}})
	if err != nil || len(desc.CapacityProviders) != 1 || len(desc.CapacityProviders[0].Tags) != 1 {
		t.Fatalf("describe %+v %v", desc, err)
	}
	if _, err := client.CreateCluster(ctx, &awsecs.CreateClusterInput{ClusterName: aws.String("sdk"), CapacityProviders: []string{"sdk-cp"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("sdk-cp"), Weight: 1}}}); err != nil {
		t.Fatal(err)
	}
	asg.join("asg-sdk", "i-0d0000000000000d1")
	e.ec2Instance("sdk", "i-0d0000000000000d1", 4096, 4096)
	e.simpleTaskDef("web", 64, 64)
	run, err := client.RunTask(ctx, &awsecs.RunTaskInput{Cluster: aws.String("sdk"), TaskDefinition: aws.String("web"), Count: aws.Int32(2)})
	if err != nil || len(run.Tasks) != 2 {
		t.Fatalf("RunTask %+v %v", run, err)
	}
	for _, task := range run.Tasks {
		if aws.ToString(task.CapacityProviderName) != "sdk-cp" {
			t.Fatalf("task capacity provider %q", aws.ToString(task.CapacityProviderName))
		}
	}
	_, err = client.DeleteCapacityProvider(ctx, &awsecs.DeleteCapacityProviderInput{CapacityProvider: aws.String("sdk-cp")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ResourceInUseException" {
		t.Fatalf("deleting an associated provider: %v", err)
	}
	_, err = client.RunTask(ctx, &awsecs.RunTaskInput{Cluster: aws.String("sdk"), TaskDefinition: aws.String("web"), LaunchType: types.LaunchTypeEc2,
		CapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("sdk-cp"), Weight: 1}}})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Fatalf("launch type with strategy: %v", err)
	}
}

// sdkClient serves e's ECS over HTTP with SigV4, as berth server does, and
// returns aws-sdk-go-v2's ECS client for it, signing as the root user.
func (e *env) sdkClient() *awsecs.Client {
	acct := auth.Account{ID: testAccount, RootAccessKeyID: "AKIAECSSDKTESTROOT01", RootSecretAccessKey: "ecsSdkTestSecretKey/0123456789abcdefghijk"}
	router := api.NewRouter(auth.NewAuthenticator(acct, testRegion), quietLogger())
	router.AddJSON(e.svc.JSONService())
	srv := httptest.NewServer(router)
	e.t.Cleanup(srv.Close)
	return awsecs.New(awsecs.Options{Region: testRegion, BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider(acct.RootAccessKeyID, acct.RootSecretAccessKey, "")})
}
