package ecr

import (
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/testutil"
)

// TestBadInputIsAClientError sends malformed requests to every ECR
// operation through the router: each must answer 4xx with an AWS error,
// never 5xx.
func TestBadInputIsAClientError(t *testing.T) {
	s, ctx := newService(t)
	arn := `"arn:aws:ecr:us-east-1:123456789012:repository/app"`
	bodies := []string{
		`{}`, `[]`, `"x"`, `{"repositoryName":"app"}`, `{"repositoryName":"nope"}`, `{"repositoryName":"../../etc"}`,
		`{"repositoryName":7}`, `{"repositoryName":"app","imageIds":[{}]}`, `{"repositoryName":"app","imageIds":"v1"}`,
		`{"repositoryName":"app","imageIds":[{"imageTag":"../x","imageDigest":"sha256:zz"}]}`,
		`{"repositoryName":"app","imageManifest":"{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"sha256:../x\"}]}"}`,
		`{"repositoryName":"app","imageManifest":"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"digest\":\"nope\"}]}"}`,
		`{"repositoryName":"app","imageManifest":"{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:1\"},\"layers\":[{\"urls\":[\"ftp://x\"]}]}"}`,
		`{"repositoryName":"app","layerDigests":["sha256:../../x",""]}`, `{"repositoryName":"app","layerDigest":"../x"}`,
		`{"repositoryName":"app","uploadId":"../../x","layerDigests":["sha256:` + strings.Repeat("a", 64) + `"]}`,
		`{"repositoryName":"app","uploadId":"0b5e3f3e-1111-4222-8333-944455556666","partFirstByte":-1,"partLastByte":-5,"layerPartBlob":"!!!"}`,
		`{"repositoryName":"app","uploadId":"0b5e3f3e-1111-4222-8333-944455556666","partFirstByte":0,"partLastByte":0,"layerPartBlob":"AA=="}`,
		`{"repositoryName":"app","policyText":"[]"}`, `{"repositoryName":"app","policyText":"{\"Statement\":null}"}`,
		`{"repositoryName":"app","lifecyclePolicyText":"{\"rules\":null}` + strings.Repeat(" ", 100) + `"}`,
		`{"repositoryName":"app","maxResults":0,"nextToken":"!!"}`, `{"repositoryName":"app","filter":{"tagStatus":"x"}}`,
		`{"resourceArn":` + arn + `,"tags":[{"Key":"aws:x"}]}`, `{"resourceArn":` + arn + `,"tags":null,"tagKeys":[""]}`, `{"resourceArn":"arn:aws:ecr:::"}`,
		`{"ecrRepositoryPrefix":"ab","upstreamRegistryUrl":"127.0.0.1:1"}`, `{"ecrRepositoryPrefix":"ab/","upstreamRegistryUrl":"http://[::1"}`,
		`{"ecrRepositoryPrefix":"ROOT","upstreamRegistryUrl":"localhost:x","credentialArn":"arn"}`, `{"ecrRepositoryPrefixes":[],"maxResults":2000}`,
		`{"ecrRepositoryPrefixes":["ab","ab"],"nextToken":"!!"}`, `{"ecrRepositoryPrefix":"ab","customRoleArn":"x"}`,
	}
	testutil.ClientErrorsOnly(t, s.JSONService(), root, bodies, func() {
		s.CreateRepository(ctx, &CreateRepositoryInput{RepositoryName: "app"}) // DeleteRepository may have removed it
	}, "GetAuthorizationToken") // it takes no repository and succeeds on anything valid
}
