package ssm

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsec2 "github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/ec2"
)

var account = auth.Account{ID: "123456789012", RootAccessKeyID: "AKIAROOTROOTROOTROOT", RootSecretAccessKey: "rootsecret"}

// TestRecommendedImageLookup looks the ECS-optimized AMI up as the
// article's scripts do, with the SDK: the recommended document parses, its
// image_id matches the /image_id parameter, and EC2 describes that image.
func TestRecommendedImageLookup(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	images := ec2.New(ec2.Config{Region: "us-east-1", Account: account.ID}, nil, api.RootOnly{}, log)
	router := api.NewRouter(auth.NewAuthenticator(account, "us-east-1"), log)
	router.AddJSON(New("us-east-1", images.Images, api.RootOnly{}, log).JSONService())
	router.AddQuery(images.QueryService())
	srv := httptest.NewServer(router)
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(account.RootAccessKeyID, account.RootSecretAccessKey, ""), RetryMaxAttempts: 1}
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()

	const base = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended"
	rec, err := client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(base)})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ImageID   string `json:"image_id"`
		ImageName string `json:"image_name"`
		OS        string `json:"os"`
		Schema    int    `json:"schema_version"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(rec.Parameter.Value)), &doc); err != nil {
		t.Fatalf("recommended value %q: %v", aws.ToString(rec.Parameter.Value), err)
	}
	if !strings.HasPrefix(doc.ImageID, "ami-") || !strings.HasPrefix(doc.ImageName, "al2023-ami-ecs-hvm-") || doc.OS != "Amazon Linux 2023" || doc.Schema != 1 {
		t.Fatalf("recommended = %+v", doc)
	}
	if aws.ToString(rec.Parameter.ARN) != "arn:aws:ssm:us-east-1::parameter"+base || rec.Parameter.LastModifiedDate == nil {
		t.Fatalf("parameter = %+v", rec.Parameter)
	}
	id, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{base + "/image_id", "/aws/service/ecs/none"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Parameters) != 1 || aws.ToString(id.Parameters[0].Value) != doc.ImageID || len(id.InvalidParameters) != 1 {
		t.Fatalf("GetParameters = %+v", id)
	}
	_, err = client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/aws/service/ecs/none")})
	var nf smithy.APIError
	if !errors.As(err, &nf) || nf.ErrorCode() != "ParameterNotFound" {
		t.Fatalf("unknown parameter: %v", err)
	}
	byPath, err := client.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/aws/service/ecs/optimized-ami/amazon-linux-2"), Recursive: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(byPath.Parameters) != 1 || aws.ToString(byPath.Parameters[0].Name) != "/aws/service/ecs/optimized-ami/amazon-linux-2/recommended" {
		t.Fatalf("non-recursive path lists %+v, want only its direct child recommended", byPath.Parameters)
	}
	var all int
	for p := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{Path: aws.String("/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended"), Recursive: aws.Bool(true)}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all += len(page.Parameters)
	}
	if all != 8 {
		t.Fatalf("recommended has %d members, want 8", all)
	}

	ec2c := awsec2.NewFromConfig(cfg, func(o *awsec2.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	imgs, err := ec2c.DescribeImages(ctx, &awsec2.DescribeImagesInput{ImageIds: []string{doc.ImageID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs.Images) != 1 || aws.ToString(imgs.Images[0].Name) != doc.ImageName || imgs.Images[0].Architecture != ec2types.ArchitectureValuesX8664 {
		t.Fatalf("DescribeImages = %+v", imgs.Images)
	}
	owned, err := ec2c.DescribeImages(ctx, &awsec2.DescribeImagesInput{Owners: []string{"amazon"}, Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{"al2023-ami-ecs-hvm-*-arm64"}}}})
	if err != nil || len(owned.Images) != 1 {
		t.Fatalf("arm64 by name: %v %+v", err, owned)
	}
	_, err = ec2c.DescribeImages(ctx, &awsec2.DescribeImagesInput{ImageIds: []string{"ami-00000000000000000"}})
	if !errors.As(err, &nf) || nf.ErrorCode() != "InvalidAMIID.NotFound" {
		t.Fatalf("unknown AMI: %v", err)
	}
}
