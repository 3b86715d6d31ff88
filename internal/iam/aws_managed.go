package iam

import (
	"strings"
	"time"
)

// awsManaged are the AWS managed policies Berth ships, by ARN. Berth keeps
// one version (v1) of each. The ECR, S3 and administrator documents are
// AWS's as published; ReadOnlyAccess and AmazonECS_FullAccess are cut down
// to the services Berth serves (AWS's own run to thousands of actions of
// services Berth does not have).
var awsManaged = map[string]managedPolicy{}

func init() {
	created := time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC)
	for _, p := range []struct{ path, name, id, description, doc string }{
		{"/", "AdministratorAccess", "ANPAIWMBCKSKIEE64ZLYK", "Provides full access to AWS services and resources.", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}`},
		{"/", "ReadOnlyAccess", "ANPAILL3HVNFSB6DCOWYQ", "Provides read-only access to AWS services and resources.", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadOnlyActions",
      "Effect": "Allow",
      "Action": [
        "ecr:BatchCheck*",
        "ecr:BatchGet*",
        "ecr:Describe*",
        "ecr:Get*",
        "ecr:List*",
        "ecs:Describe*",
        "ecs:List*",
        "iam:Generate*",
        "iam:Get*",
        "iam:List*",
        "iam:Simulate*",
        "logs:Describe*",
        "logs:FilterLogEvents",
        "logs:Get*",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
        "logs:StartQuery",
        "logs:StopQuery",
        "logs:TestMetricFilter",
        "s3:DescribeJob",
        "s3:Get*",
        "s3:List*",
        "sts:GetAccessKeyInfo",
        "sts:GetCallerIdentity",
        "sts:GetSessionToken"
      ],
      "Resource": "*"
    }
  ]
}`},
		{"/", "AmazonEC2ContainerRegistryReadOnly", "ANPAIFYZPA37OOHVIH7KQ", "Provides read-only access to Amazon EC2 Container Registry repositories.", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings"
      ],
      "Resource": "*"
    }
  ]
}`},
		{"/", "AmazonEC2ContainerRegistryPowerUser", "ANPAJDNE5PIHROIBGGDDW", "Provides full access to Amazon EC2 Container Registry repositories, but does not allow repository deletion or policy changes.", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:DescribeImages",
        "ecr:BatchGetImage",
        "ecr:GetLifecyclePolicy",
        "ecr:GetLifecyclePolicyPreview",
        "ecr:ListTagsForResource",
        "ecr:DescribeImageScanFindings",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage"
      ],
      "Resource": "*"
    }
  ]
}`},
		{"/", "AmazonEC2ContainerRegistryFullAccess", "ANPAIESRL7KD7IIVF6V4W", "Provides administrative access to Amazon ECR resources", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:*",
        "cloudtrail:LookupEvents"
      ],
      "Resource": "*"
    },
    {
      "Effect": "Allow",
      "Action": [
        "iam:CreateServiceLinkedRole"
      ],
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "iam:AWSServiceName": [
            "replication.ecr.amazonaws.com"
          ]
        }
      }
    }
  ]
}`},
		{"/", "AmazonECS_FullAccess", "ANPAJ7S7AN6YQPTJC7IFS", "Provides administrative access to Amazon ECS resources and enables ECS features through access to other AWS service resources, including VPCs, Auto Scaling groups, and CloudFormation stacks.", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ECSIntegrationsManagementPolicy",
      "Effect": "Allow",
      "Action": [
        "application-autoscaling:*",
        "ecs:*",
        "logs:CreateLogGroup",
        "logs:DescribeLogGroups",
        "logs:FilterLogEvents",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfiles",
        "iam:ListRoles"
      ],
      "Resource": "*"
    },
    {
      "Sid": "PassRoleForECSTasks",
      "Effect": "Allow",
      "Action": "iam:PassRole",
      "Resource": "*",
      "Condition": {
        "StringLike": {
          "iam:PassedToService": "ecs-tasks.amazonaws.com"
        }
      }
    },
    {
      "Sid": "ServiceLinkedRoleCreation",
      "Effect": "Allow",
      "Action": "iam:CreateServiceLinkedRole",
      "Resource": "*",
      "Condition": {
        "StringLike": {
          "iam:AWSServiceName": "ecs.amazonaws.com"
        }
      }
    }
  ]
}`},
		{"/service-role/", "AmazonEC2ContainerServiceforEC2Role", "ANPAJLYJCVHC7TQHCSQDS", "Default policy for the Amazon EC2 Role for Amazon EC2 Container Service.", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ec2:DescribeTags",
        "ecs:CreateCluster",
        "ecs:DeregisterContainerInstance",
        "ecs:DiscoverPollEndpoint",
        "ecs:Poll",
        "ecs:RegisterContainerInstance",
        "ecs:StartTelemetrySession",
        "ecs:UpdateContainerInstancesState",
        "ecs:Submit*",
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents"
      ],
      "Resource": "*"
    },
    {
      "Effect": "Allow",
      "Action": "ecs:TagResource",
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "ecs:CreateAction": [
            "CreateCluster",
            "RegisterContainerInstance"
          ]
        }
      }
    }
  ]
}`},
		{"/service-role/", "AmazonECSTaskExecutionRolePolicy", "ANPAJG4T4G4PV56DE72PY", "Provides access to other AWS service resources that are required to run Amazon ECS tasks", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchGetImage",
        "logs:CreateLogStream",
        "logs:PutLogEvents"
      ],
      "Resource": "*"
    }
  ]
}`},
		{"/", "AmazonS3ReadOnlyAccess", "ANPAIZTJ4DXE7G6AGAE6M", "Provides read only access to all buckets via the AWS Management Console.", `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "s3:Get*",
        "s3:List*",
        "s3:Describe*",
        "s3-object-lambda:Get*",
        "s3-object-lambda:List*"
      ],
      "Resource": "*"
    }
  ]
}`},
	} {
		arn := "arn:aws:iam::aws:policy" + p.path + p.name
		awsManaged[arn] = managedPolicy{Name: p.name, ID: p.id, ARN: arn, Path: p.path, Description: p.description,
			Document: strings.TrimSpace(p.doc), VersionID: "v1", CreateDate: created, UpdateDate: created}
	}
}
