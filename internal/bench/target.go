package bench

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Target is a running Berth that a benchmark drives through its API.
type Target struct {
	Endpoint, Region string
	Credentials      aws.CredentialsProvider
}

func (t Target) ecs() *ecs.Client {
	return ecs.New(ecs.Options{Region: t.Region, BaseEndpoint: aws.String(t.Endpoint), Credentials: t.Credentials})
}

func (t Target) ecr() *ecr.Client {
	return ecr.New(ecr.Options{Region: t.Region, BaseEndpoint: aws.String(t.Endpoint), Credentials: t.Credentials})
}

// median is the middle of d, the upper one of an even count; d is left
// unsorted.
func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// report writes d's count, min, median, p90 and max on one line labelled
// what.
func report(w io.Writer, what string, d []time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	fmt.Fprintf(w, "%-22s n=%d min=%s median=%s p90=%s p99=%s max=%s\n", what, len(s),
		s[0].Round(time.Microsecond), median(s).Round(time.Microsecond), s[len(s)*9/10].Round(time.Microsecond),
		s[len(s)*99/100].Round(time.Microsecond), s[len(s)-1].Round(time.Microsecond))
}

// mbps is size bytes over d in MB/s (10^6 bytes).
func mbps(size int64, d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
