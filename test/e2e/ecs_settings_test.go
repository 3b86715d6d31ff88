package e2e

import (
	"testing"
)

// TestClusterAndAccountSettingsWithCLI: update-cluster's configuration and
// Service Connect defaults, an IAM user's account setting over the
// account default, and update-container-agent's answer, as the aws CLI
// sends and reads them.
func TestClusterAndAccountSettingsWithCLI(t *testing.T) {
	t.Parallel()
	b := shared(t)
	cli := requireCLIv2(t)
	cluster := uniqueName("e2e-settings")
	b.Run(t, cli, "ecs", "create-cluster", "--cluster-name", cluster).MustSucceed(t)
	var out struct {
		Cluster struct {
			Configuration struct {
				ExecuteCommandConfiguration struct {
					Logging          string `json:"logging"`
					LogConfiguration struct {
						CloudWatchLogGroupName string `json:"cloudWatchLogGroupName"`
					} `json:"logConfiguration"`
				} `json:"executeCommandConfiguration"`
			} `json:"configuration"`
			ServiceConnectDefaults struct {
				Namespace string `json:"namespace"`
			} `json:"serviceConnectDefaults"`
		} `json:"cluster"`
	}
	b.Run(t, cli, "ecs", "update-cluster", "--cluster", cluster,
		"--configuration", `executeCommandConfiguration={logging=OVERRIDE,logConfiguration={cloudWatchLogGroupName=/exec}}`,
		"--service-connect-defaults", "namespace=internal").MustSucceed(t).JSON(t, &out)
	x := out.Cluster.Configuration.ExecuteCommandConfiguration
	if x.Logging != "OVERRIDE" || x.LogConfiguration.CloudWatchLogGroupName != "/exec" || out.Cluster.ServiceConnectDefaults.Namespace != "internal" {
		t.Fatalf("update-cluster: %+v", out)
	}
	b.Run(t, cli, "ecs", "update-cluster", "--cluster", cluster, "--configuration", `executeCommandConfiguration={logging=OVERRIDE}`).
		MustFail(t, cli.ServiceErrorExit, "InvalidParameterException")

	user := "arn:aws:iam::" + b.AccountID + ":user/" + uniqueName("settings")
	b.Run(t, cli, "ecs", "put-account-setting", "--name", "awsvpcTrunking", "--value", "enabled", "--principal-arn", user).MustSucceed(t)
	var list struct {
		Settings []struct{ Name, Value, PrincipalArn string }
	}
	b.Run(t, cli, "ecs", "list-account-settings", "--principal-arn", user, "--effective-settings", "--name", "awsvpcTrunking").MustSucceed(t).JSON(t, &list)
	if len(list.Settings) != 1 || list.Settings[0].Value != "enabled" || list.Settings[0].PrincipalArn != user {
		t.Fatalf("list-account-settings: %+v", list)
	}
	b.Run(t, cli, "ecs", "put-account-setting", "--name", "taskLongArnFormat", "--value", "disabled").
		MustFail(t, cli.ServiceErrorExit, "InvalidParameterException")
}
