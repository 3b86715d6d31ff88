package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/berth-dev/berth/internal/server"
)

// botocoreData is where Debian's awscli keeps the AWS service models.
const botocoreData = "/usr/lib/python3/dist-packages/awscli/botocore/data"

// model is what the coverage test reads of a botocore service model.
type model struct {
	Metadata struct {
		Protocol, TargetPrefix, SigningName, EndpointPrefix, APIVersion string
	}
	Operations map[string]struct {
		Output *struct {
			Shape string
		}
	}
	Shapes map[string]struct {
		Members map[string]struct {
			EventStream bool `json:"eventstream"`
		}
	}
}

func loadModel(t *testing.T, service string) (model, bool) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(botocoreData, service, "*", "service-2.json"))
	if len(files) == 0 {
		return model{}, false
	}
	sort.Strings(files)
	b, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	var m model
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m, true
}

// TestOperationCoverage sends every operation of the AWS models of the
// services Berth serves, signed and with no parameters, and sorts the
// answers: implemented (a result, or a 4xx judging the input), missing
// (the service's unknown-operation error). An operation answering a 5xx
// fails the test. The counts are logged, for the issue notes.
func TestOperationCoverage(t *testing.T) {
	if _, err := os.Stat(botocoreData); err != nil {
		t.Skip("the aws CLI's service models are not installed (scripts/deps.sh installs awscli)")
	}
	srv := startWire(t, server.Config{Region: "us-east-1"})
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: srv.Account.RootAccessKeyID, SecretAccessKey: srv.Account.RootSecretAccessKey}
	client := &http.Client{Timeout: 20 * time.Second}
	for _, service := range []string{"ecs", "ecr", "logs", "iam", "sts", "autoscaling", "elbv2", "elb", "acm", "ec2", "ssm"} {
		m, ok := loadModel(t, service)
		if !ok {
			t.Errorf("no model for %s", service)
			continue
		}
		signing := m.Metadata.SigningName
		if signing == "" {
			signing = m.Metadata.EndpointPrefix
		}
		var implemented, missing []string
		names := make([]string, 0, len(m.Operations))
		for name := range m.Operations {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, op := range names {
			if o := m.Operations[op]; o.Output != nil && streams(m, o.Output.Shape) {
				continue // an event stream (Logs' StartLiveTail) answers no single document
			}
			var body []byte
			req, _ := http.NewRequest(http.MethodPost, srv.Endpoint+"/", nil)
			switch m.Metadata.Protocol {
			case "json":
				body = []byte("{}")
				req.Header.Set("Content-Type", "application/x-amz-json-1.1")
				req.Header.Set("X-Amz-Target", m.Metadata.TargetPrefix+"."+op)
			default:
				body = []byte(url.Values{"Action": {op}, "Version": {m.Metadata.APIVersion}}.Encode())
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
			sum := sha256.Sum256(body)
			if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), signing, "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("%s %s: %v", service, op, err)
				continue
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code := errorCode(resp, answer)
			switch {
			case resp.StatusCode >= 500:
				t.Errorf("%s %s with no parameters: %d %s", service, op, resp.StatusCode, answer)
			case code == "UnknownOperationException" || code == "InvalidAction":
				missing = append(missing, op)
			default:
				implemented = append(implemented, op)
			}
		}
		list := strings.Join(missing, " ")
		if len(missing) > 50 {
			list = "(too many to list)"
		}
		t.Logf("%s: %d of %d operations answered; missing: %s", service, len(implemented), len(implemented)+len(missing), list)
	}
}

// streams reports whether an output shape is an event stream.
func streams(m model, shape string) bool {
	for _, mem := range m.Shapes[shape].Members {
		if mem.EventStream {
			return true
		}
	}
	return false
}

// errorCode reads an error's code from a JSON or XML error document.
func errorCode(resp *http.Response, body []byte) string {
	if resp.StatusCode < 400 {
		return ""
	}
	if t := resp.Header.Get("X-Amzn-ErrorType"); t != "" {
		return t
	}
	var j struct {
		Type string `json:"__type"`
	}
	if json.Unmarshal(body, &j) == nil && j.Type != "" {
		return j.Type
	}
	var x struct {
		Code string `xml:"Error>Code"`
	}
	if xml.Unmarshal(body, &x) == nil && x.Code != "" {
		return x.Code
	}
	var e struct {
		Code string `xml:"Errors>Error>Code"`
	}
	xml.Unmarshal(body, &e)
	return e.Code
}
