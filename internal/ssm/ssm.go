// Package ssm implements the part of AWS Systems Manager Parameter Store
// that ECS set-ups read: the public parameters under /aws/service/ecs that
// name the recommended ECS-optimized images, so that scripts and templates
// which look the AMI up work unchanged.
package ssm

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
)

// TargetPrefix is the X-Amz-Target prefix of Systems Manager.
const TargetPrefix = "AmazonSSM"

// Service is the Parameter Store API over EC2's image catalogue.
type Service struct {
	region string
	images func() []ec2.Image
	authz  api.Authorizer
	log    *slog.Logger
	// published is when the catalogue's parameters were last modified.
	published time.Time
}

// New returns the service answering for images, authorizing with authz.
func New(region string, images func() []ec2.Image, authz api.Authorizer, log *slog.Logger) *Service {
	return &Service{region: region, images: images, authz: authz, log: log, published: time.Date(2024, 11, 20, 0, 0, 0, 0, time.UTC)}
}

// Register serves Systems Manager on router.
func (s *Service) Register(router *api.Router) { router.AddJSON(s.JSONService()) }

// JSONService exposes the operations over AWS JSON 1.1.
func (s *Service) JSONService() *api.JSONService {
	js := api.NewJSONService("ssm", TargetPrefix)
	js.FaultCode = "InternalServerError"
	js.Handle("GetParameter", api.Op(s.GetParameter))
	js.Handle("GetParameters", api.Op(s.GetParameters))
	js.Handle("GetParametersByPath", api.Op(s.GetParametersByPath))
	return js
}

// Parameter is the Parameter shape.
type Parameter struct {
	Name             string         `json:"Name"`
	Type             string         `json:"Type"`
	Value            string         `json:"Value"`
	Version          int64          `json:"Version"`
	LastModifiedDate *api.Timestamp `json:"LastModifiedDate,omitempty"`
	ARN              string         `json:"ARN"`
	DataType         string         `json:"DataType"`
}

// parameters builds the public ECS parameters: for each image family,
// .../<family>/recommended (a JSON document) and one parameter per member
// of that document under it, as AWS publishes them.
func (s *Service) parameters() map[string]string {
	out := map[string]string{}
	for _, img := range s.images() {
		base := "/aws/service/ecs/optimized-ami/" + img.Family + "/recommended"
		doc := map[string]any{
			"ecs_agent_version":   img.AgentVersion,
			"ecs_runtime_version": img.Runtime,
			"image_id":            img.ID,
			"image_name":          img.Name,
			"image_version":       img.Version,
			"os":                  img.OS,
			"schema_version":      1,
			"source_image_name":   strings.Replace(img.Name, "-ecs-hvm", "-minimal-hvm", 1),
		}
		b, _ := json.Marshal(doc)
		out[base] = string(b)
		for k, v := range doc {
			switch v := v.(type) {
			case string:
				out[base+"/"+k] = v
			case int:
				out[base+"/"+k] = "1"
			}
		}
	}
	return out
}

func (s *Service) parameter(name, value string) Parameter {
	return Parameter{Name: name, Type: "String", Value: value, Version: 1, LastModifiedDate: api.At(s.published),
		ARN: s.arn(name), DataType: "text"}
}

// arn is a public parameter's ARN: it has no account.
func (s *Service) arn(name string) string {
	return "arn:aws:ssm:" + s.region + "::parameter" + name
}

func (s *Service) authorize(ctx context.Context, action, name string) error {
	return s.authz.Authorize(ctx, api.PrincipalFrom(ctx), "ssm:"+action, s.arn(name))
}

// nameOf accepts a parameter's name or ARN, and drops a :version or
// :label selector.
func (s *Service) nameOf(ref string) string {
	ref = strings.TrimPrefix(ref, "arn:aws:ssm:"+s.region+"::parameter")
	if i := strings.LastIndexByte(ref, ':'); i > 0 {
		ref = ref[:i]
	}
	return ref
}

type GetParameterInput struct {
	Name           string
	WithDecryption bool
}

type GetParameterOutput struct {
	Parameter Parameter
}

// GetParameter answers one parameter, or ParameterNotFound.
func (s *Service) GetParameter(ctx context.Context, in *GetParameterInput) (*GetParameterOutput, error) {
	if in.Name == "" {
		return nil, api.JSONValidation.Null("name")
	}
	name := s.nameOf(in.Name)
	if err := s.authorize(ctx, "GetParameter", name); err != nil {
		return nil, err
	}
	v, ok := s.parameters()[name]
	if !ok {
		return nil, api.Errorf("ParameterNotFound", "Parameter %s not found.", in.Name)
	}
	return &GetParameterOutput{Parameter: s.parameter(name, v)}, nil
}

type GetParametersInput struct {
	Names          []string
	WithDecryption bool
}

type GetParametersOutput struct {
	Parameters        []Parameter
	InvalidParameters []string
}

// GetParameters answers up to ten parameters; unknown names are listed
// as invalid rather than failing the call.
func (s *Service) GetParameters(ctx context.Context, in *GetParametersInput) (*GetParametersOutput, error) {
	if len(in.Names) == 0 || len(in.Names) > 10 {
		return nil, api.JSONValidation.Fail("names", api.List, "Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	params := s.parameters()
	out := &GetParametersOutput{Parameters: []Parameter{}, InvalidParameters: []string{}}
	for _, ref := range in.Names {
		name := s.nameOf(ref)
		if err := s.authorize(ctx, "GetParameters", name); err != nil {
			return nil, err
		}
		if v, ok := params[name]; ok {
			out.Parameters = append(out.Parameters, s.parameter(name, v))
		} else {
			out.InvalidParameters = append(out.InvalidParameters, ref)
		}
	}
	return out, nil
}

type GetParametersByPathInput struct {
	Path           string
	Recursive      bool
	WithDecryption bool
	MaxResults     *int
	NextToken      *string
}

type GetParametersByPathOutput struct {
	Parameters []Parameter
	NextToken  *string `json:",omitempty"`
}

// GetParametersByPath lists the parameters under a path: its direct
// children, or every descendant when Recursive.
func (s *Service) GetParametersByPath(ctx context.Context, in *GetParametersByPathInput) (*GetParametersByPathOutput, error) {
	if !strings.HasPrefix(in.Path, "/") {
		return nil, api.Errorf("ValidationException", "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".")
	}
	if err := s.authorize(ctx, "GetParametersByPath", strings.TrimSuffix(in.Path, "/")); err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(in.Path, "/") + "/"
	params := s.parameters()
	var names []string
	for name := range params {
		rest, under := strings.CutPrefix(name, prefix)
		if under && (in.Recursive || !strings.Contains(rest, "/")) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	page, next, err := api.Paginate(names, in.NextToken, in.MaxResults, 10)
	if err != nil {
		return nil, api.Errorf("ValidationException", "%s", api.AsError(err).Message)
	}
	out := &GetParametersByPathOutput{Parameters: []Parameter{}, NextToken: next}
	for _, name := range page {
		out.Parameters = append(out.Parameters, s.parameter(name, params[name]))
	}
	return out, nil
}
