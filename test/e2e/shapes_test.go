package e2e

// The subset of ECS response shapes the tests read from the aws CLI's JSON
// output (named as in the ECS API).

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type keyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type failure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

type cluster struct {
	ClusterArn                        string     `json:"clusterArn"`
	ClusterName                       string     `json:"clusterName"`
	Status                            string     `json:"status"`
	RegisteredContainerInstancesCount *int       `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 *int       `json:"runningTasksCount"`
	PendingTasksCount                 *int       `json:"pendingTasksCount"`
	ActiveServicesCount               *int       `json:"activeServicesCount"`
	Statistics                        []keyValue `json:"statistics"`
	Tags                              []tag      `json:"tags"`
	Settings                          []keyValue `json:"settings"`
}

type clusterOutput struct {
	Cluster cluster `json:"cluster"`
}

type describeClustersOutput struct {
	Clusters []cluster `json:"clusters"`
	Failures []failure `json:"failures"`
}

type portMapping struct {
	ContainerPort *int   `json:"containerPort"`
	HostPort      *int   `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

type containerDefinition struct {
	Name         string        `json:"name"`
	Image        string        `json:"image"`
	Cpu          int           `json:"cpu"`
	Memory       *int          `json:"memory"`
	Essential    *bool         `json:"essential"`
	PortMappings []portMapping `json:"portMappings"`
	Environment  []keyValue    `json:"environment"`
	Command      []string      `json:"command"`
}

type taskDefinition struct {
	TaskDefinitionArn    string                `json:"taskDefinitionArn"`
	Family               string                `json:"family"`
	Revision             int                   `json:"revision"`
	Status               string                `json:"status"`
	NetworkMode          string                `json:"networkMode"`
	ContainerDefinitions []containerDefinition `json:"containerDefinitions"`
	Compatibilities      []string              `json:"compatibilities"`
}

type taskDefinitionOutput struct {
	TaskDefinition taskDefinition `json:"taskDefinition"`
}

type networkBinding struct {
	BindIP        string `json:"bindIP"`
	ContainerPort int    `json:"containerPort"`
	HostPort      int    `json:"hostPort"`
	Protocol      string `json:"protocol"`
}

type container struct {
	ContainerArn    string           `json:"containerArn"`
	Name            string           `json:"name"`
	LastStatus      string           `json:"lastStatus"`
	ExitCode        *int             `json:"exitCode"`
	Reason          string           `json:"reason"`
	RuntimeID       string           `json:"runtimeId"`
	NetworkBindings []networkBinding `json:"networkBindings"`
	HealthStatus    string           `json:"healthStatus"`
}

type task struct {
	TaskArn              string       `json:"taskArn"`
	ClusterArn           string       `json:"clusterArn"`
	TaskDefinitionArn    string       `json:"taskDefinitionArn"`
	ContainerInstanceArn string       `json:"containerInstanceArn"`
	LastStatus           string       `json:"lastStatus"`
	DesiredStatus        string       `json:"desiredStatus"`
	StopCode             string       `json:"stopCode"`
	StoppedReason        string       `json:"stoppedReason"`
	LaunchType           string       `json:"launchType"`
	HealthStatus         string       `json:"healthStatus"`
	Containers           []container  `json:"containers"`
	Attachments          []attachment `json:"attachments"`
}

type attachment struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Status  string `json:"status"`
	Details []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"details"`
}

// detail is the value of an attachment's detail.
func (a attachment) detail(name string) string {
	for _, d := range a.Details {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

type tasksOutput struct {
	Tasks    []task    `json:"tasks"`
	Failures []failure `json:"failures"`
}

type containerInstance struct {
	ContainerInstanceArn string     `json:"containerInstanceArn"`
	Ec2InstanceId        string     `json:"ec2InstanceId"`
	Status               string     `json:"status"`
	AgentConnected       bool       `json:"agentConnected"`
	RegisteredResources  []resource `json:"registeredResources"`
}

type resource struct {
	Name         string `json:"name"`
	IntegerValue int    `json:"integerValue"`
}
