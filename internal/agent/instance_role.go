package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/acs"
)

// instanceRole provides the credentials of the role in the instance's
// instance profile, as the metadata service of an EC2 instance launched
// with that profile does. The launch credentials (whoever starts the
// agent; they must be allowed iam:PassRole on the role) only sign the
// request for them: every other call the agent makes runs as the role's
// session, arn:aws:sts::<account>:assumed-role/<role>/<instance id>.
type instanceRole struct {
	endpoint, region, profile string
	launch                    aws.CredentialsProvider
	instanceID                func() string
	client                    *http.Client
}

// metadataCredentials is the instance metadata shape of role credentials.
type metadataCredentials struct {
	Code            string
	AccessKeyId     string
	SecretAccessKey string
	Token           string
	Expiration      time.Time
}

// Retrieve implements aws.CredentialsProvider; wrap it in an
// aws.CredentialsCache, which renews the credentials before they expire.
func (r *instanceRole) Retrieve(ctx context.Context) (aws.Credentials, error) {
	body, status, err := signedGet(ctx, r.client, r.launch, "iam", r.region, r.endpoint, "/berth/instance-credentials",
		url.Values{"instanceProfile": {r.profile}, "instanceId": {r.instanceID()}})
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("instance profile %s: %w", r.profile, err)
	}
	if status != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(body, &e)
		return aws.Credentials{}, &smithy.GenericAPIError{Code: e.Type,
			Message: fmt.Sprintf("credentials of instance profile %s: %s", r.profile, e.Message)}
	}
	var m metadataCredentials
	if err := json.Unmarshal(body, &m); err != nil || m.Code != "Success" {
		return aws.Credentials{}, fmt.Errorf("instance profile %s: bad credentials response (%v)", r.profile, err)
	}
	return aws.Credentials{AccessKeyID: m.AccessKeyId, SecretAccessKey: m.SecretAccessKey, SessionToken: m.Token,
		Source: "InstanceProfile", CanExpire: true, Expires: m.Expiration}, nil
}

// roleCredentials wraps provider in a cache that renews credentials a
// quarter of an hour before they expire (the SDKs' own margin is smaller).
func roleCredentials(p aws.CredentialsProvider) aws.CredentialsProvider {
	return aws.NewCredentialsCache(p, func(o *aws.CredentialsCacheOptions) {
		o.ExpiryWindow = 15 * time.Minute
		o.ExpiryWindowJitterFrac = 0.5
	})
}

// signedGet sends a GET of path?query to the server at endpoint, signed
// with creds for service, and returns the answer's body (up to 1 MiB)
// and status.
func signedGet(ctx context.Context, client *http.Client, creds aws.CredentialsProvider, service, region, endpoint, path string, query url.Values) ([]byte, int, error) {
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(endpoint, "/")+path+"?"+query.Encode(), nil)
	if err != nil {
		return nil, 0, err
	}
	if err := acs.SignGet(ctx, req, c, service, region); err != nil {
		return nil, 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return body, resp.StatusCode, err
}
