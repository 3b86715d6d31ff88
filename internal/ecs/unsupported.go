package ecs

import (
	"github.com/berth-dev/berth/internal/api"
)

// Request fields naming features Berth does not have yet are refused by
// name instead of being accepted and doing nothing. Leaving a field out,
// or sending it empty, is always accepted.

// NetworkConfiguration is a task's or service's awsvpc network settings.
type NetworkConfiguration struct {
	AwsvpcConfiguration *AwsVpcConfiguration `json:"awsvpcConfiguration,omitempty"`
}

// AwsVpcConfiguration names the subnets and security groups of a task's
// elastic network interface.
type AwsVpcConfiguration struct {
	Subnets        []string `json:"subnets,omitempty"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIp string   `json:"assignPublicIp,omitempty"`
}

// ServiceRegistry is a service discovery registration of a service.
type ServiceRegistry struct {
	RegistryArn   string `json:"registryArn,omitempty"`
	Port          *int   `json:"port,omitempty"`
	ContainerName string `json:"containerName,omitempty"`
	ContainerPort *int   `json:"containerPort,omitempty"`
}

// notYet are the reasons a field is refused, by field name.
var notYet = map[string]string{
	"serviceRegistries": "Berth has no Cloud Map service discovery yet.",
	// ListServicesByNamespace answers that no namespace exists, so no
	// service may join one.
	"serviceConnectConfiguration": "Berth has no Cloud Map namespaces, which Service Connect needs.",
}

// refuseNotYet returns InvalidParameterException for the first field in
// set that is given.
func refuseNotYet(set map[string]bool) error {
	for _, name := range []string{"serviceRegistries", "serviceConnectConfiguration"} {
		if set[name] {
			return api.InvalidParameter("%s is not supported: %s", name, notYet[name])
		}
	}
	return nil
}

// ServiceConnectConfiguration is a service's Service Connect settings;
// only whether it is enabled is read (see notYet).
type ServiceConnectConfiguration struct {
	Enabled   bool   `json:"enabled"`
	Namespace string `json:"namespace,omitempty"`
}

// given reports whether a network configuration asks for anything.
func (n *NetworkConfiguration) given() bool {
	return n != nil && n.AwsvpcConfiguration != nil
}
