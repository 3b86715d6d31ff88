package ecs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/berth-dev/berth/internal/api"
)

// fargateTaskDef is a valid FARGATE registration of the given task size.
func fargateTaskDef(family, cpu, memory string) RegisterTaskDefinitionInput {
	return RegisterTaskDefinitionInput{Family: family, NetworkMode: "awsvpc", Cpu: cpu, Memory: memory,
		RequiresCompatibilities: []string{"FARGATE"}, ContainerDefinitions: []ContainerDefinition{container("app", 0, 128)}}
}

// errMessage is the message of an *api.Error, "" otherwise.
func errMessage(err error) string {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// TestFargateTaskSizes registers every edge of Fargate's cpu/memory table,
// in units and in the "vCPU"/"GB" forms, and reads back what ECS stores.
func TestFargateTaskSizes(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		cpu, memory      string
		wantCPU, wantMem string
	}{
		{"256", "512", "256", "512"},
		{"256", "1024", "256", "1024"},
		{"256", "2048", "256", "2048"},
		{"512", "1024", "512", "1024"},
		{"512", "4096", "512", "4096"},
		{"1024", "2048", "1024", "2048"},
		{"1024", "8192", "1024", "8192"},
		{"2048", "4096", "2048", "4096"},
		{"2048", "16384", "2048", "16384"},
		{"4096", "8192", "4096", "8192"},
		{"4096", "30720", "4096", "30720"},
		{"8192", "16384", "8192", "16384"},
		{"8192", "20480", "8192", "20480"},
		{"8192", "61440", "8192", "61440"},
		{"16384", "32768", "16384", "32768"},
		{"16384", "40960", "16384", "40960"},
		{"16384", "122880", "16384", "122880"},
		{"1 vCPU", "2 GB", "1024", "2048"},
		{"0.25 vCPU", "0.5 GB", "256", "512"},
		{"0.5 vcpu", "1GB", "512", "1024"},
		{"2 VCPU", "6 gb", "2048", "6144"},
		{"4vCPU", "30 GB", "4096", "30720"},
		{"16 vCPU", "120 GB", "16384", "122880"},
		{"2 vCPU", "4 GiB", "2048", "4096"},
	} {
		t.Run(tc.cpu+"/"+tc.memory, func(t *testing.T) {
			e := e.with(t)
			in := fargateTaskDef("size", tc.cpu, tc.memory)
			td := must[*TaskDefinitionOutput](t)(e.svc.RegisterTaskDefinition(e.ctx, &in)).TaskDefinition
			if td.Cpu != tc.wantCPU || td.Memory != tc.wantMem {
				t.Fatalf("registered %s/%s as %s/%s, want %s/%s", tc.cpu, tc.memory, td.Cpu, td.Memory, tc.wantCPU, tc.wantMem)
			}
			if !slices.Equal(td.Compatibilities, []string{"EC2", "FARGATE"}) {
				t.Fatalf("compatibilities = %v", td.Compatibilities)
			}
			desc := must[*TaskDefinitionOutput](t)(e.svc.DescribeTaskDefinition(e.ctx, &DescribeTaskDefinitionInput{TaskDefinition: td.TaskDefinitionArn}))
			if desc.TaskDefinition.Cpu != tc.wantCPU || desc.TaskDefinition.Memory != tc.wantMem {
				t.Fatalf("described as %s/%s", desc.TaskDefinition.Cpu, desc.TaskDefinition.Memory)
			}
		})
	}
}

// TestTaskSizeForms covers the cpu/memory string forms outside Fargate's
// table: an EC2 task definition may use any size in range.
func TestTaskSizeForms(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		cpu, memory      string
		wantCPU, wantMem string
	}{
		{"1.5 vCPU", "1.5 GB", "1536", "1536"},
		{"128", "6", "128", "6"},
		{"3 vCPU", "100 MiB", "3072", "100"},
		{"192 vCPU", " 2 gb ", "196608", "2048"},
	} {
		t.Run(tc.cpu+"/"+tc.memory, func(t *testing.T) {
			e := e.with(t)
			in := RegisterTaskDefinitionInput{Family: "forms", Cpu: tc.cpu, Memory: tc.memory, ContainerDefinitions: []ContainerDefinition{container("app", 0, 6)}}
			td := must[*TaskDefinitionOutput](t)(e.svc.RegisterTaskDefinition(e.ctx, &in)).TaskDefinition
			if td.Cpu != tc.wantCPU || td.Memory != tc.wantMem {
				t.Fatalf("registered %s/%s as %s/%s, want %s/%s", tc.cpu, tc.memory, td.Cpu, td.Memory, tc.wantCPU, tc.wantMem)
			}
		})
	}
	for _, memory := range []string{"512.5", "1.5 MiB", "0.001 GB", "two GB", "1e3"} {
		t.Run("memory "+memory, func(t *testing.T) {
			e := e.with(t)
			in := RegisterTaskDefinitionInput{Family: "forms", Memory: memory, ContainerDefinitions: []ContainerDefinition{container("app", 0, 6)}}
			e.rejected("ClientException", func() error { _, err := e.svc.RegisterTaskDefinition(e.ctx, &in); return err })
		})
	}
}

// TestFargateRefusals registers FARGATE task definitions that break one of
// AWS's Fargate rules each, and checks ECS's error code and message and
// that nothing was stored.
func TestFargateRefusals(t *testing.T) {
	e := newEnv(t)
	noConfig := func(cpu, mem string) string {
		return "No Fargate configuration exists for given values: " + cpu + " CPU, " + mem + " memory. See the Amazon ECS documentation for the valid values."
	}
	notSupported := func(param string) string {
		return "Invalid setting for container 'app'. Tasks using the Fargate launch type do not support " + param + "."
	}
	for _, tc := range []struct {
		name    string
		mutate  func(in *RegisterTaskDefinitionInput)
		code    string
		message string // exact, or a prefix when it ends in "..."
	}{
		{"256 cpu 4096 memory", func(in *RegisterTaskDefinitionInput) { in.Memory = "4096" }, "ClientException", noConfig("256", "4096")},
		{"256 cpu 1536 memory", func(in *RegisterTaskDefinitionInput) { in.Memory = "1536" }, "ClientException", noConfig("256", "1536")},
		{"256 cpu 256 memory", func(in *RegisterTaskDefinitionInput) { in.Memory = "256" }, "ClientException", noConfig("256", "256")},
		{"512 cpu 512 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "512", "512" }, "ClientException", noConfig("512", "512")},
		{"512 cpu 5120 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "512", "5 GB" }, "ClientException", noConfig("512", "5120")},
		{"1024 cpu 1024 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "1 vCPU", "1 GB" }, "ClientException", noConfig("1024", "1024")},
		{"1024 cpu 2560 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "1024", "2560" }, "ClientException", noConfig("1024", "2560")},
		{"2048 cpu 5632 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "2 vCPU", "5.5 GB" }, "ClientException", noConfig("2048", "5632")},
		{"4096 cpu 31744 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "4096", "31 GB" }, "ClientException", noConfig("4096", "31744")},
		{"8192 cpu 17408 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "8192", "17 GB" }, "ClientException", noConfig("8192", "17408")},
		{"8192 cpu 65536 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "8192", "65536" }, "ClientException", noConfig("8192", "65536")},
		{"16384 cpu 36864 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "16384", "36864" }, "ClientException", noConfig("16384", "36864")},
		{"16384 cpu 131072 memory", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "16384", "128 GB" }, "ClientException", noConfig("16384", "131072")},
		{"cpu not in the table", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "3 vCPU", "8 GB" }, "ClientException", noConfig("3072", "8192")},
		{"bridge", func(in *RegisterTaskDefinitionInput) { in.NetworkMode = "bridge" }, "ClientException", "Fargate only supports network mode 'awsvpc'."},
		{"default network mode", func(in *RegisterTaskDefinitionInput) { in.NetworkMode = "" }, "ClientException", "Fargate only supports network mode 'awsvpc'."},
		{"host", func(in *RegisterTaskDefinitionInput) { in.NetworkMode = "host" }, "ClientException", "Fargate only supports network mode 'awsvpc'."},
		{"no task cpu", func(in *RegisterTaskDefinitionInput) { in.Cpu = "" }, "ClientException", "Fargate requires task definition to have 'cpu' and 'memory' set at the task level."},
		{"no task memory", func(in *RegisterTaskDefinitionInput) { in.Memory = "" }, "ClientException", "Fargate requires task definition to have 'cpu' and 'memory' set at the task level."},
		{"ephemeralStorage 20", func(in *RegisterTaskDefinitionInput) { in.EphemeralStorage = &EphemeralStorage{SizeInGiB: 20} }, "ClientException",
			"Invalid 'ephemeralStorage.sizeInGiB' setting for task: 20. The minimum supported value is 21 GiB and the maximum supported value is 200 GiB."},
		{"ephemeralStorage 201", func(in *RegisterTaskDefinitionInput) { in.EphemeralStorage = &EphemeralStorage{SizeInGiB: 201} }, "ClientException",
			"Invalid 'ephemeralStorage.sizeInGiB' setting for task: 201. The minimum supported value is 21 GiB and the maximum supported value is 200 GiB."},
		{"ephemeralStorage without size", func(in *RegisterTaskDefinitionInput) { in.EphemeralStorage = &EphemeralStorage{} }, "ClientException", "Invalid 'ephemeralStorage.sizeInGiB' setting for task: 0..."},
		{"cpuArchitecture x86", func(in *RegisterTaskDefinitionInput) {
			in.RuntimePlatform = &RuntimePlatform{CpuArchitecture: "x86_64"}
		}, "InvalidParameterException",
			`Invalid runtimePlatform.cpuArchitecture "x86_64": valid values are X86_64 and ARM64.`},
		{"cpuArchitecture ARM", func(in *RegisterTaskDefinitionInput) { in.RuntimePlatform = &RuntimePlatform{CpuArchitecture: "ARM"} }, "InvalidParameterException",
			`Invalid runtimePlatform.cpuArchitecture "ARM": valid values are X86_64 and ARM64.`},
		{"Windows", func(in *RegisterTaskDefinitionInput) {
			in.RuntimePlatform = &RuntimePlatform{CpuArchitecture: "X86_64", OperatingSystemFamily: "WINDOWS_SERVER_2022_CORE"}
		}, "ClientException", "runtimePlatform.operatingSystemFamily WINDOWS_SERVER_2022_CORE is not supported: Berth runs Linux containers only; use LINUX."},
		{"unknown operatingSystemFamily", func(in *RegisterTaskDefinitionInput) {
			in.RuntimePlatform = &RuntimePlatform{OperatingSystemFamily: "linux"}
		}, "InvalidParameterException",
			`Invalid runtimePlatform.operatingSystemFamily "linux"...`},
		{"ipcMode", func(in *RegisterTaskDefinitionInput) { in.IpcMode = "task" }, "ClientException", "Tasks using the Fargate launch type do not support ipcMode."},
		{"pidMode host", func(in *RegisterTaskDefinitionInput) { in.PidMode = "host" }, "ClientException", "Tasks using the Fargate launch type do not support pidMode 'host'."},
		{"placementConstraints", func(in *RegisterTaskDefinitionInput) {
			in.PlacementConstraints = []PlacementConstraint{{Type: "memberOf", Expression: "attribute:ecs.os-type == linux"}}
		}, "ClientException", "Tasks using the Fargate launch type do not support placementConstraints."},
		{"dockerVolumeConfiguration", func(in *RegisterTaskDefinitionInput) {
			in.Volumes = []Volume{{Name: "data", DockerVolumeConfiguration: &DockerVolumeConfiguration{Scope: "task"}}}
		}, "ClientException", "Tasks using the Fargate launch type do not support dockerVolumeConfiguration."},
		{"host volume with sourcePath", func(in *RegisterTaskDefinitionInput) {
			in.Volumes = []Volume{{Name: "data", Host: &HostVolumeProperties{SourcePath: "/srv"}}}
		}, "ClientException", "Tasks using the Fargate launch type do not support host volumes with a sourcePath."},
		{"links", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions = append(in.ContainerDefinitions, container("db", 0, 64))
			in.ContainerDefinitions[0].Links = []string{"db"}
		}, "ClientException", "Invalid setting for container 'app'. Links are only supported when networkMode=bridge."},
		{"hostname", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Hostname = "web" }, "ClientException",
			"hostname is not supported on container when networkMode=awsvpc."},
		{"hostPort other than containerPort", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0] = withPorts(in.ContainerDefinitions[0], [2]int{80, 8080})
		}, "ClientException", "Invalid setting for container 'app'. When networkMode=awsvpc, 'containerPort' and 'hostPort' must be the same."},
		{"privileged", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Privileged = ptr(true) }, "ClientException", notSupported("privileged")},
		{"disableNetworking", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].DisableNetworking = ptr(true) }, "ClientException", notSupported("disableNetworking")},
		{"dnsServers", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].DNSServers = []string{"10.0.0.2"} }, "ClientException", notSupported("dnsServers")},
		{"dnsSearchDomains", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].DNSSearchDomains = []string{"corp"} }, "ClientException", notSupported("dnsSearchDomains")},
		{"dockerSecurityOptions", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].DockerSecurityOptions = []string{"no-new-privileges"}
		}, "ClientException", notSupported("dockerSecurityOptions")},
		{"extraHosts", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].ExtraHosts = []HostEntry{{Hostname: "db", IPAddress: "10.0.0.9"}}
		}, "ClientException", notSupported("extraHosts")},
		{"gpu", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].ResourceRequirements = []ResourceRequirement{{Type: "GPU", Value: "1"}}
		}, "ClientException", notSupported("gpu")},
		{"maxSwap", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LinuxParameters = &LinuxParameters{MaxSwap: ptr(64)}
		}, "ClientException", notSupported("linuxParameters.maxSwap")},
		{"swappiness", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LinuxParameters = &LinuxParameters{Swappiness: ptr(10)}
		}, "ClientException", notSupported("linuxParameters.swappiness")},
		{"devices", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LinuxParameters = &LinuxParameters{Devices: []Device{{HostPath: "/dev/null"}}}
		}, "ClientException", notSupported("linuxParameters.devices")},
		{"sharedMemorySize", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LinuxParameters = &LinuxParameters{SharedMemorySize: ptr(64)}
		}, "ClientException", notSupported("linuxParameters.sharedMemorySize")},
		{"tmpfs", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LinuxParameters = &LinuxParameters{Tmpfs: []Tmpfs{{ContainerPath: "/run", Size: 64}}}
		}, "ClientException", notSupported("linuxParameters.tmpfs")},
		{"capability other than SYS_PTRACE", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LinuxParameters = &LinuxParameters{Capabilities: &KernelCapabilities{Add: []string{"SYS_PTRACE", "NET_ADMIN"}}}
		}, "ClientException", notSupported("adding the capability NET_ADMIN (only SYS_PTRACE can be added)")},
		{"json-file log driver", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LogConfiguration = &LogConfiguration{LogDriver: "json-file"}
		}, "ClientException", notSupported("the log driver json-file (use awslogs, splunk or awsfirelens)")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			in := fargateTaskDef("refused", "256", "512")
			tc.mutate(&in)
			var err error
			e.rejected(tc.code, func() error { _, err = e.svc.RegisterTaskDefinition(e.ctx, &in); return err })
			got := errMessage(err)
			if prefix, ok := strings.CutSuffix(tc.message, "..."); ok {
				if !strings.HasPrefix(got, prefix) {
					t.Fatalf("message = %q, want it to start with %q", got, prefix)
				}
			} else if got != tc.message {
				t.Fatalf("message = %q\nwant        %q", got, tc.message)
			}
		})
	}
}

// TestFargateCompatibilities checks that compatibilities lists FARGATE
// exactly when a definition that does not require it would qualify.
func TestFargateCompatibilities(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name   string
		mutate func(in *RegisterTaskDefinitionInput)
		want   []string
	}{
		{"awsvpc with a Fargate size", func(in *RegisterTaskDefinitionInput) {}, []string{"EC2", "FARGATE"}},
		{"awsvpc with SYS_PTRACE and awslogs", func(in *RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LinuxParameters = &LinuxParameters{Capabilities: &KernelCapabilities{Add: []string{"SYS_PTRACE"}}}
			in.ContainerDefinitions[0].LogConfiguration = &LogConfiguration{LogDriver: "awslogs"}
			in.ContainerDefinitions[0].Privileged = ptr(false)
		}, []string{"EC2", "FARGATE"}},
		{"awsvpc with a size Fargate lacks", func(in *RegisterTaskDefinitionInput) { in.Memory = "4096" }, []string{"EC2"}},
		{"awsvpc without task size", func(in *RegisterTaskDefinitionInput) { in.Cpu, in.Memory = "", "" }, []string{"EC2"}},
		{"awsvpc with a privileged container", func(in *RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Privileged = ptr(true) }, []string{"EC2"}},
		{"awsvpc with ipcMode", func(in *RegisterTaskDefinitionInput) { in.IpcMode = "task" }, []string{"EC2"}},
		{"bridge", func(in *RegisterTaskDefinitionInput) { in.NetworkMode = "bridge" }, []string{"EXTERNAL", "EC2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			in := fargateTaskDef("compat", "256", "512")
			in.RequiresCompatibilities = nil
			tc.mutate(&in)
			td := must[*TaskDefinitionOutput](t)(e.svc.RegisterTaskDefinition(e.ctx, &in)).TaskDefinition
			if !slices.Equal(td.Compatibilities, tc.want) {
				t.Fatalf("compatibilities = %v, want %v", td.Compatibilities, tc.want)
			}
		})
	}
}

// TestEphemeralStorageAndRuntimePlatformRecorded checks both fields are
// stored as given and described back, for Fargate and EC2 definitions.
func TestEphemeralStorageAndRuntimePlatformRecorded(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		in   RegisterTaskDefinitionInput
	}{
		{"fargate arm64 21 GiB", func() RegisterTaskDefinitionInput {
			in := fargateTaskDef("recorded-fargate", "256", "512")
			in.EphemeralStorage = &EphemeralStorage{SizeInGiB: 21}
			in.RuntimePlatform = &RuntimePlatform{CpuArchitecture: "ARM64", OperatingSystemFamily: "LINUX"}
			return in
		}()},
		{"ec2 x86_64 200 GiB", RegisterTaskDefinitionInput{Family: "recorded-ec2", ContainerDefinitions: []ContainerDefinition{container("app", 0, 64)},
			EphemeralStorage: &EphemeralStorage{SizeInGiB: 200}, RuntimePlatform: &RuntimePlatform{CpuArchitecture: "X86_64"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			must[*TaskDefinitionOutput](t)(e.svc.RegisterTaskDefinition(e.ctx, &tc.in))
			td := must[*TaskDefinitionOutput](t)(e.svc.DescribeTaskDefinition(e.ctx, &DescribeTaskDefinitionInput{TaskDefinition: tc.in.Family})).TaskDefinition
			if td.EphemeralStorage == nil || *td.EphemeralStorage != *tc.in.EphemeralStorage {
				t.Fatalf("ephemeralStorage = %+v, want %+v", td.EphemeralStorage, tc.in.EphemeralStorage)
			}
			if td.RuntimePlatform == nil || *td.RuntimePlatform != *tc.in.RuntimePlatform {
				t.Fatalf("runtimePlatform = %+v, want %+v", td.RuntimePlatform, tc.in.RuntimePlatform)
			}
		})
	}
}

// TestFargateTaskDefinitionThroughSDK registers and describes a Fargate
// task definition with aws-sdk-go-v2, so the shapes are the ones the SDK
// decodes, and reads an invalid size's ClientException as the SDK does.
func TestFargateTaskDefinitionThroughSDK(t *testing.T) {
	e := newEnv(t)
	client := e.sdkClient()
	ctx := context.Background()
	container := types.ContainerDefinition{Name: aws.String("app"), Image: aws.String("busybox:latest"), Essential: aws.Bool(true)}
	reg, err := client.RegisterTaskDefinition(ctx, &awsecs.RegisterTaskDefinitionInput{Family: aws.String("sdk-fargate"),
		NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("1 vCPU"), Memory: aws.String("2GB"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		EphemeralStorage:        &types.EphemeralStorage{SizeInGiB: 30},
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureArm64, OperatingSystemFamily: types.OSFamilyLinux},
		ContainerDefinitions:    []types.ContainerDefinition{container}})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := client.DescribeTaskDefinition(ctx, &awsecs.DescribeTaskDefinitionInput{TaskDefinition: reg.TaskDefinition.TaskDefinitionArn})
	if err != nil {
		t.Fatal(err)
	}
	td := desc.TaskDefinition
	if aws.ToString(td.Cpu) != "1024" || aws.ToString(td.Memory) != "2048" {
		t.Fatalf("described size %s/%s, want 1024/2048", aws.ToString(td.Cpu), aws.ToString(td.Memory))
	}
	if !slices.Equal(td.Compatibilities, []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate}) ||
		!slices.Equal(td.RequiresCompatibilities, []types.Compatibility{types.CompatibilityFargate}) {
		t.Fatalf("compatibilities %v, requires %v", td.Compatibilities, td.RequiresCompatibilities)
	}
	if td.EphemeralStorage == nil || td.EphemeralStorage.SizeInGiB != 30 || td.RuntimePlatform == nil ||
		td.RuntimePlatform.CpuArchitecture != types.CPUArchitectureArm64 || td.RuntimePlatform.OperatingSystemFamily != types.OSFamilyLinux {
		t.Fatalf("ephemeralStorage %+v, runtimePlatform %+v", td.EphemeralStorage, td.RuntimePlatform)
	}

	_, err = client.RegisterTaskDefinition(ctx, &awsecs.RegisterTaskDefinitionInput{Family: aws.String("sdk-fargate"),
		NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("4096"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, ContainerDefinitions: []types.ContainerDefinition{container}})
	var clientErr *types.ClientException
	if !errors.As(err, &clientErr) || clientErr.ErrorMessage() !=
		"No Fargate configuration exists for given values: 256 CPU, 4096 memory. See the Amazon ECS documentation for the valid values." {
		t.Fatalf("256/4096: %v", err)
	}
}
