package e2e

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// TestEC2NetworkWithCLI follows the article's first steps with the aws
// CLI: a key pair, the default VPC and its subnets in three zones, and a
// security group that allows the ECS dynamic host-port range.
func TestEC2NetworkWithCLI(t *testing.T) {
	for _, c := range clis() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := shared(t)
			cli := c.get(t)
			keyName := uniqueName("e2e-key-" + cli.Name)
			var key struct{ KeyMaterial, KeyName, KeyPairId string }
			b.Run(t, cli, "ec2", "create-key-pair", "--key-name", keyName).MustSucceed(t).JSON(t, &key)
			block, _ := pem.Decode([]byte(key.KeyMaterial))
			if block == nil {
				t.Fatalf("create-key-pair returned no PEM key: %+v", key)
			}
			if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				t.Fatalf("private key: %v", err)
			}
			b.Run(t, cli, "ec2", "create-key-pair", "--key-name", keyName).MustFail(t, cli.ServiceErrorExit, "InvalidKeyPair.Duplicate")

			var vpcs struct {
				Vpcs []struct {
					VpcId, CidrBlock string
					IsDefault        bool
				}
			}
			b.Run(t, cli, "ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true").MustSucceed(t).JSON(t, &vpcs)
			if len(vpcs.Vpcs) != 1 || vpcs.Vpcs[0].CidrBlock != b.vpcCIDR { // 172.31.0.0/16 unless --default-vpc-cidr
				t.Fatalf("default vpc: %+v", vpcs)
			}
			vpc := vpcs.Vpcs[0].VpcId
			var subnets struct {
				Subnets []struct{ SubnetId, AvailabilityZone string }
			}
			b.Run(t, cli, "ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+vpc, "Name=default-for-az,Values=true").MustSucceed(t).JSON(t, &subnets)
			zones := map[string]bool{}
			for _, s := range subnets.Subnets {
				zones[s.AvailabilityZone] = true
			}
			if len(zones) < 3 {
				t.Fatalf("default subnets in %d zones: %+v", len(zones), subnets)
			}

			group := uniqueName("e2e-sg-" + cli.Name)
			var created struct{ GroupId string }
			b.Run(t, cli, "ec2", "create-security-group", "--group-name", group, "--description", "ECS hosts", "--vpc-id", vpc).MustSucceed(t).JSON(t, &created)
			b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "32768-65535", "--cidr", "0.0.0.0/0").MustSucceed(t)
			b.Run(t, cli, "ec2", "authorize-security-group-ingress", "--group-id", created.GroupId, "--protocol", "tcp", "--port", "32768-65535", "--cidr", "0.0.0.0/0").
				MustFail(t, cli.ServiceErrorExit, "InvalidPermission.Duplicate")
			var groups struct {
				SecurityGroups []struct {
					IpPermissions []struct {
						IpProtocol       string
						FromPort, ToPort int
						IpRanges         []struct{ CidrIp string }
					}
				}
			}
			b.Run(t, cli, "ec2", "describe-security-groups", "--group-ids", created.GroupId).MustSucceed(t).JSON(t, &groups)
			if p := groups.SecurityGroups[0].IpPermissions; len(p) != 1 || p[0].FromPort != 32768 || p[0].ToPort != 65535 || p[0].IpRanges[0].CidrIp != "0.0.0.0/0" {
				t.Fatalf("ingress: %+v", p)
			}
			b.Run(t, cli, "ec2", "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.9.0.0/24").MustFail(t, cli.ServiceErrorExit, "InvalidSubnet.Range")
			pub := filepath.Join(t.TempDir(), "id.pub")
			os.WriteFile(pub, []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGk8DP6IaD9XnHj1K1c8U3w+2ZLZbxK8sSWf1JqvVOY1 me@laptop\n"), 0o600)
			b.Run(t, cli, "ec2", "import-key-pair", "--key-name", keyName+"-imported", "--public-key-material", "fileb://"+pub).MustSucceed(t)
			b.Run(t, cli, "ec2", "delete-security-group", "--group-id", created.GroupId).MustSucceed(t)
			b.Run(t, cli, "ec2", "delete-key-pair", "--key-name", keyName).MustSucceed(t)
			b.Run(t, cli, "ec2", "delete-key-pair", "--key-name", keyName+"-imported").MustSucceed(t)
		})
	}
}
