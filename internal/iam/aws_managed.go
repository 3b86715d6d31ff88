package iam

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// awsManaged returns the AWS managed policies Berth ships, by ARN, each with
// its current default version as AWS publishes it (awspolicies/<name>.json:
// VersionId, CreateDate and Document, as GetPolicyVersion returns them).
// The documents name actions of every AWS service; those of services
// Berth does not serve simply never match a request.
// They are decoded on first use, not at start-up (ReadOnlyAccess alone
// is over 100 KB).
var awsManaged = sync.OnceValue(loadAWSManaged)

//go:embed awspolicies/*.json
var awsPolicyFiles embed.FS

func loadAWSManaged() map[string]managedPolicy {
	policies := map[string]managedPolicy{}
	created := time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC)
	for _, p := range []struct{ path, name, id, description string }{
		{"/", "AdministratorAccess", "ANPAIWMBCKSKIEE64ZLYK", "Provides full access to AWS services and resources."},
		{"/", "ReadOnlyAccess", "ANPAILL3HVNFSB6DCOWYQ", "Provides read-only access to AWS services and resources."},
		{"/", "AmazonEC2ContainerRegistryReadOnly", "ANPAIFYZPA37OOHVIH7KQ", "Provides read-only access to Amazon EC2 Container Registry repositories."},
		{"/", "AmazonEC2ContainerRegistryPowerUser", "ANPAJDNE5PIHROIBGGDDW", "Provides full access to Amazon EC2 Container Registry repositories, but does not allow repository deletion or policy changes."},
		{"/", "AmazonEC2ContainerRegistryFullAccess", "ANPAIESRL7KD7IIVF6V4W", "Provides administrative access to Amazon ECR resources"},
		{"/", "AmazonECS_FullAccess", "ANPAJ7S7AN6YQPTJC7IFS", "Provides administrative access to Amazon ECS resources and enables ECS features through access to other AWS service resources, including VPCs, Auto Scaling groups, and CloudFormation stacks."},
		{"/service-role/", "AmazonEC2ContainerServiceforEC2Role", "ANPAJLYJCVHC7TQHCSQDS", "Default policy for the Amazon EC2 Role for Amazon EC2 Container Service."},
		{"/service-role/", "AmazonECSTaskExecutionRolePolicy", "ANPAJG4T4G4PV56DE72PY", "Provides access to other AWS service resources that are required to run Amazon ECS tasks"},
		{"/", "AmazonS3ReadOnlyAccess", "ANPAIZTJ4DXE7G6AGAE6M", "Provides read only access to all buckets via the AWS Management Console."},
	} {
		raw, err := awsPolicyFiles.ReadFile("awspolicies/" + p.name + ".json")
		if err != nil {
			panic(err)
		}
		var v struct {
			VersionId  string
			CreateDate time.Time
			Document   json.RawMessage
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			panic(fmt.Sprintf("awspolicies/%s.json: %v", p.name, err))
		}
		var doc bytes.Buffer
		if err := json.Compact(&doc, v.Document); err != nil {
			panic(fmt.Sprintf("awspolicies/%s.json: %v", p.name, err))
		}
		arn := "arn:aws:iam::aws:policy" + p.path + p.name
		policies[arn] = managedPolicy{Name: p.name, ID: p.id, ARN: arn, Path: p.path, Description: p.description,
			Document: doc.String(), VersionID: v.VersionId, CreateDate: created, UpdateDate: v.CreateDate,
			Versions: []policyVersion{{ID: v.VersionId, Document: doc.String(), CreateDate: v.CreateDate}}}
	}
	return policies
}
