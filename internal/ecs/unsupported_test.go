package ecs

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/api"
)

// TestNotYetSupportedInputs checks that fields naming features Berth does
// not have are refused by name, and that leaving them empty is accepted.
func TestNotYetSupportedInputs(t *testing.T) {
	e := newEnv(t)
	e.cluster("nyi")
	e.instance("nyi", 4096, 4096)
	td := e.taskDef("nyi", container("app", 64, 64))
	must[*ServiceOutput](t)(e.svc.CreateService(e.ctx, &CreateServiceInput{Cluster: "nyi", ServiceName: "existing", TaskDefinition: td.TaskDefinitionArn, DesiredCount: ptr(0)}))

	netcfg := &NetworkConfiguration{AwsvpcConfiguration: &AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}
	regs := []ServiceRegistry{{RegistryArn: "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1"}}
	lbs := []LoadBalancer{{TargetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1", ContainerName: "app", ContainerPort: ptr(80)}}

	run := func(f func(*RunTaskInput)) func() error {
		return func() error {
			in := &RunTaskInput{Cluster: "nyi", TaskDefinition: td.TaskDefinitionArn}
			f(in)
			_, err := e.svc.RunTask(e.ctx, in)
			return err
		}
	}
	create := func(f func(*CreateServiceInput)) func() error {
		return func() error {
			in := &CreateServiceInput{Cluster: "nyi", ServiceName: "refused", TaskDefinition: td.TaskDefinitionArn, DesiredCount: ptr(0)}
			f(in)
			_, err := e.svc.CreateService(e.ctx, in)
			return err
		}
	}
	update := func(f func(*UpdateServiceInput)) func() error {
		return func() error {
			in := &UpdateServiceInput{Cluster: "nyi", Service: "existing"}
			f(in)
			_, err := e.svc.UpdateService(e.ctx, in)
			return err
		}
	}
	for _, tc := range []struct {
		name  string
		call  func() error
		field string // "" = accepted
	}{
		{"RunTask networkConfiguration", run(func(in *RunTaskInput) { in.NetworkConfiguration = netcfg }), "Network Configuration is not valid for the given networkMode"},
		{"RunTask empty", run(func(in *RunTaskInput) {
			in.CapacityProviderStrategy, in.NetworkConfiguration = []CapacityProviderStrategyItem{}, &NetworkConfiguration{}
		}), ""},
		{"CreateService networkConfiguration", create(func(in *CreateServiceInput) { in.NetworkConfiguration = netcfg }), "Network Configuration is not valid for the given networkMode"},
		{"CreateService serviceRegistries", create(func(in *CreateServiceInput) { in.ServiceRegistries = regs }), "serviceRegistries"},
		{"CreateService loadBalancers", create(func(in *CreateServiceInput) { in.LoadBalancers = lbs }), "loadBalancers"},
		{"CreateService empty", create(func(in *CreateServiceInput) {
			in.ServiceName = "empty"
			in.LoadBalancers, in.ServiceRegistries, in.CapacityProviderStrategy = []LoadBalancer{}, []ServiceRegistry{}, []CapacityProviderStrategyItem{}
		}), ""},
		{"UpdateService networkConfiguration", update(func(in *UpdateServiceInput) { in.NetworkConfiguration = netcfg }), "Network Configuration is not valid for the given networkMode"},
		{"UpdateService serviceRegistries", update(func(in *UpdateServiceInput) { in.ServiceRegistries = regs }), "serviceRegistries"},
		{"UpdateService loadBalancers", update(func(in *UpdateServiceInput) { in.LoadBalancers = lbs }), "loadBalancers"},
		{"UpdateService empty", update(func(in *UpdateServiceInput) {
			in.LoadBalancers, in.ServiceRegistries = []LoadBalancer{}, []ServiceRegistry{}
		}), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantCode(t, err, "InvalidParameterException")
			if msg := api.AsError(err).Message; !strings.HasPrefix(msg, tc.field) && !strings.Contains(err.Error(), tc.field+" is not supported") {
				t.Fatalf("error %q does not name %s", err, tc.field)
			}
		})
	}
}
