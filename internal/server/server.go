// Package server assembles Berth's control plane: the store, the AWS APIs
// on one HTTP listener, and the agent communication endpoints.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/berth-dev/berth/internal/acm"
	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/auth"
	"github.com/berth-dev/berth/internal/autoscaling"
	"github.com/berth-dev/berth/internal/controller"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/ecr"
	"github.com/berth-dev/berth/internal/ecs"
	"github.com/berth-dev/berth/internal/elb"
	"github.com/berth-dev/berth/internal/elbv2"
	"github.com/berth-dev/berth/internal/iam"
	"github.com/berth-dev/berth/internal/logs"
	"github.com/berth-dev/berth/internal/ssm"
	"github.com/berth-dev/berth/internal/store"
)

// Config configures a control-plane process.
type Config struct {
	DataDir       string
	Listen        string // host:port
	Region        string
	AccountID     string
	EtcdEndpoints []string
	// EtcdTLS, EtcdUsername and EtcdPassword secure the connection to
	// EtcdEndpoints.
	EtcdTLS                    store.TLSFiles
	EtcdUsername, EtcdPassword string
	// AdvertiseURL is how agents reach this server; default http://<listen>.
	AdvertiseURL string
	// RegistryHost is the host[:port] of image URIs; default localhost:<port>
	// for a loopback listener (Docker trusts it over plain HTTP).
	RegistryHost string
	// RegistryStorage is where the registry keeps image content; the zero
	// value is the data dir. Servers sharing etcd share images through S3.
	RegistryStorage ecr.Storage
	// TLSCertFile and TLSKeyFile, when both set, make the listener serve
	// HTTPS with that certificate (PEM), as remote Docker clients need for
	// the registry.
	TLSCertFile, TLSKeyFile string
	// RoleCredentialsDuration is how long the credentials of instance,
	// task and execution roles last; iam.DefaultServiceSessionDuration
	// when zero.
	RoleCredentialsDuration time.Duration
	// AlsoListenOn are more addresses (IPs, no port) served on the
	// listener's port, such as the Docker bridge gateway through which
	// containers reach the APIs; one that cannot be bound is skipped with a
	// warning.
	AlsoListenOn []string
	// ReadHeaderTimeout bounds how long a request's headers may take to
	// arrive; DefaultReadHeaderTimeout when zero.
	ReadHeaderTimeout time.Duration
	// Heartbeat is the ACS heartbeat interval.
	Heartbeat time.Duration
	// DefaultVPCCIDR is the range of the default VPC made at the first
	// start; ec2.DefaultVPCCIDR when empty.
	DefaultVPCCIDR string
	// AutoScalingInterval is how often the Auto Scaling group controller
	// reconciles every group; autoscaling.DefaultInterval when zero.
	AutoScalingInterval time.Duration
	// LoadBalancerAddresses are IPs the load balancers' listeners bind on
	// their ports besides 127.0.0.1 (0.0.0.0 binds every address).
	LoadBalancerAddresses []string
	// Scheduler tunes the service scheduler.
	Scheduler ecs.SchedulerOptions
	// LeaderTTL is the lease of the leader among the servers sharing etcd:
	// a leader that dies is replaced after about this long (default 5s).
	LeaderTTL time.Duration
	Logger    *slog.Logger
}

// Server is a running control plane.
type Server struct {
	Account auth.Account
	// AccountCreated says that this start created the account (and its
	// root keys): the first start.
	AccountCreated bool
	Endpoint       string
	Region         string
	// ECS is the ECS API service.
	ECS *ecs.Service
	// IAM is the IAM and STS service.
	IAM *iam.Service
	// Logs is the CloudWatch Logs service.
	Logs *logs.Service
	// EC2 is the EC2 service.
	EC2 *ec2.Service
	// AutoScaling is EC2 Auto Scaling.
	AutoScaling *autoscaling.Service
	// ELB is Elastic Load Balancing (v2) with this server's data plane.
	ELB *elbv2.Service
	// ACM keeps the certificates of the load balancers' TLS listeners.
	ACM *acm.Service
	// Controllers runs the background loops and the leader election.
	Controllers *controller.Runtime
	stopBG      context.CancelFunc
	bgDone      chan struct{}
	store       *store.Store
	http        *http.Server
	ln          net.Listener
	serve       func(net.Listener) error
	done        chan error
}

// service is what the server asks of every AWS service it serves.
type service interface {
	// Register serves the service's APIs and endpoints on router.
	Register(router *api.Router)
}

// withControllers is a service with background loops.
type withControllers interface {
	Controllers() []controller.Controller
}

// Start opens the store, binds the listener and serves until Close.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	st, err := store.Open(ctx, store.Config{DataDir: cfg.DataDir, Endpoints: cfg.EtcdEndpoints,
		TLS: cfg.EtcdTLS, Username: cfg.EtcdUsername, Password: cfg.EtcdPassword, Logger: log})
	if err != nil {
		return nil, err
	}
	acct, created, err := auth.EnsureAccount(ctx, st, cfg.AccountID)
	if err != nil {
		st.Close()
		return nil, err
	}
	tlsConfig, err := loadTLS(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		st.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	endpoint := cfg.AdvertiseURL
	if endpoint == "" {
		endpoint = "http://" + ln.Addr().String()
		if tlsConfig != nil {
			endpoint = "https://" + ln.Addr().String()
		}
	}
	// IAM keeps users, roles and policies: it resolves non-root access keys
	// for the authenticator and authorizes every API call.
	iamSvc := iam.New(acct.ID, st, log, iam.WithServiceSessionDuration(cfg.RoleCredentialsDuration))
	authn := auth.NewAuthenticator(acct, cfg.Region)
	authn.UseKeys(iamSvc)
	router := api.NewRouter(authn, log)
	// The background loops: those on the leader (elected among the servers
	// sharing etcd) and those on every server. The election key is the one
	// the service scheduler has always campaigned on, so that servers of
	// earlier releases and this one never lead at once.
	controllers := controller.New(controller.Config{Store: st, ElectionKey: "/berth/" + cfg.Region + "/ecs/scheduler-leader",
		ID: endpoint, LeaderTTL: cfg.LeaderTTL, Log: log})
	controllers.Register(controller.Leader("store-maintenance", func(ctx context.Context) error {
		st.RunMaintenance(ctx, time.Minute)
		return nil
	}))
	// Background work lives until Close, not until the caller's ctx ends.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	fail := func(err error) (*Server, error) {
		stopBG()
		ln.Close()
		st.Close()
		return nil, err
	}
	// EC2: the account's network (the default VPC is created at the first
	// start), security groups, key pairs and instances, whose signed
	// identity documents ECS believes.
	ec2Svc := ec2.New(ec2.Config{Region: cfg.Region, Account: acct.ID, Profiles: iamSvc, DefaultVPCCIDR: cfg.DefaultVPCCIDR}, st, iamSvc, log)
	if err := ec2Svc.EnsureDefaults(ctx); err != nil {
		return fail(fmt.Errorf("create the default VPC: %w", err))
	}
	// EC2 Auto Scaling keeps groups of instances at their desired
	// capacity; ECS's capacity providers scale them.
	asSvc := autoscaling.New(autoscaling.Config{Region: cfg.Region, Account: acct.ID, Interval: cfg.AutoScalingInterval}, st, ec2Svc, iamSvc, log)
	// Elastic Load Balancing: the API, and on every server the data plane
	// that binds the listeners on this machine; ECS registers services'
	// tasks with its target groups.
	// Certificate Manager keeps the imported certificates of the HTTPS
	// and TLS listeners; it asks ELB which listeners use one.
	acmSvc := acm.New(acm.Config{Region: cfg.Region, Account: acct.ID}, st, iamSvc, log)
	elbSvc := elbv2.New(elbv2.Config{Region: cfg.Region, Account: acct.ID, Listen: cfg.LoadBalancerAddresses, Certificates: acmSvc}, st, ec2Svc, iamSvc, log)
	// The Classic API (version 2012-06-01 of elasticloadbalancing) shares
	// ELBv2's data plane, listener ports and certificates.
	classicSvc := elb.New(elb.Config{Region: cfg.Region, Account: acct.ID, Plane: elbSvc.Plane(), Ports: elbSvc, Certificates: acmSvc}, st, ec2Svc, iamSvc, log)
	acmSvc.UseUsers(func(ctx context.Context, arn string) ([]string, error) {
		v2, err := elbSvc.CertificateUsers(ctx, arn)
		if err != nil {
			return nil, err
		}
		classic, err := classicSvc.CertificateUsers(ctx, arn)
		return append(v2, classic...), err
	})
	ecsSvc := ecs.New(ecs.Config{Region: cfg.Region, Account: acct.ID, Endpoint: endpoint, Roles: iamSvc, Scheduler: cfg.Scheduler, Identity: ec2Svc,
		AutoScaling: asSvc, Networks: ec2Svc, Fargate: ec2Svc, LoadBalancing: serviceTargets{elbSvc, classicSvc}}, st, iamSvc, log)
	if err := ecsSvc.StartACS(bg, ecs.ACSOptions{Heartbeat: cfg.Heartbeat}); err != nil {
		return fail(err)
	}
	// Scale-in waits for ECS to drain what managed draining covers.
	asSvc.UseDrainer(ecsSvc)
	registryHost := cfg.RegistryHost
	if registryHost == "" {
		registryHost = defaultRegistryHost(ln.Addr().(*net.TCPAddr))
	}
	ecrSvc, err := ecr.New(ctx, ecr.Config{Region: cfg.Region, Account: acct.ID, RegistryHost: registryHost, DataDir: cfg.DataDir, Storage: cfg.RegistryStorage},
		st, iamSvc, authn.PrincipalForKey, log)
	if err != nil {
		return fail(err)
	}
	// IAM authorizes ECR's resources by their repository policies, and
	// ECR is authorized by IAM: this one link is made once both exist.
	iamSvc.UseResourcePolicies("arn:aws:ecr:", ecrSvc.RepositoryPolicy)
	// CloudWatch Logs receives the output of awslogs containers.
	logsSvc := logs.New(logs.Config{Region: cfg.Region, Account: acct.ID}, st, iamSvc, log)
	// Event batches stored by builds before stream-safe keys move once,
	// before the first request.
	if n, err := logsSvc.MigrateKeys(ctx); err != nil {
		log.Warn("migrate log event keys", "err", err)
	} else if n > 0 {
		log.Info("migrated log event keys", "batches", n)
	}
	// Systems Manager answers the public parameters that name EC2's images.
	ssmSvc := ssm.New(cfg.Region, ec2Svc.Images, iamSvc, log)
	// Each service serves its APIs on the router, and hands its background
	// loops, if it has any, to the runtime.
	for _, svc := range []service{iamSvc, ecsSvc, ecrSvc, logsSvc, ec2Svc, asSvc, elbSvc, classicSvc, acmSvc, ssmSvc} {
		svc.Register(router)
		if c, ok := svc.(withControllers); ok {
			controllers.Register(c.Controllers()...)
		}
	}
	bgDone := make(chan struct{})
	go func() {
		defer close(bgDone)
		controllers.Run(bg)
	}()
	router.Handle("GET /healthz/leader", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !controllers.IsLeader() {
			http.Error(w, "follower", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "leader")
	}))
	s := &Server{Account: acct, AccountCreated: created, Endpoint: endpoint, Region: cfg.Region, ECS: ecsSvc, IAM: iamSvc, Logs: logsSvc, EC2: ec2Svc, AutoScaling: asSvc, ELB: elbSvc, ACM: acmSvc, Controllers: controllers, stopBG: stopBG, bgDone: bgDone, store: st, ln: ln, done: make(chan error, 1)}
	headerTimeout := cfg.ReadHeaderTimeout
	if headerTimeout <= 0 {
		headerTimeout = DefaultReadHeaderTimeout
	}
	s.http = &http.Server{Handler: router, TLSConfig: tlsConfig,
		ReadHeaderTimeout: headerTimeout, ReadTimeout: ReadTimeout, IdleTimeout: IdleTimeout}
	serve := func(ln net.Listener) error {
		if tlsConfig != nil {
			return s.http.ServeTLS(ln, "", "")
		}
		return s.http.Serve(ln)
	}
	s.serve = serve
	go func() { s.done <- serve(ln) }()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, host := range cfg.AlsoListenOn {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		extra, err := net.Listen("tcp", addr)
		if err != nil {
			log.Warn("cannot also listen on "+addr+"; containers will not reach the APIs there", "err", err)
			continue
		}
		s.Serve(extra)
		log.Info("also listening", "address", addr)
	}
	router.SetReady(true)
	log.Info("berth server listening", "endpoint", endpoint, "region", cfg.Region, "account", acct.ID)
	return s, nil
}

// Timeouts of the listener (and every extra one). Headers must arrive
// promptly, so a client trickling them (slowloris) holds no connection for
// long; a body may take ReadTimeout, which only a caller whose key is known
// gets to use (the router refuses the rest before reading a body), or
// ecr.RegistryBodyTimeout a registry upload; the agents' websockets clear
// the deadline when they upgrade.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	ReadTimeout              = 5 * time.Minute
	IdleTimeout              = 2 * time.Minute
)

// Store is the server's store, for the controllers that run beside it.
func (s *Server) Store() *store.Store { return s.store }

// Serve also serves the APIs on ln until Close, as on the main listener.
// The placement benchmark connects its simulated agents through an
// in-memory listener, so that thousands of them need no socket each.
func (s *Server) Serve(ln net.Listener) {
	go s.serve(ln)
}

// loadTLS reads the listener's certificate; both files or neither.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("TLS needs both a certificate and a key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// defaultRegistryHost names a loopback listener localhost:<port>, which
// Docker accepts over plain HTTP; other listeners by their address.
func defaultRegistryHost(addr *net.TCPAddr) string {
	if addr.IP.IsLoopback() {
		return fmt.Sprintf("localhost:%d", addr.Port)
	}
	return addr.String()
}

// Done reports the HTTP server's end.
func (s *Server) Done() <-chan error { return s.done }

// Close stops serving and closes the store.
func (s *Server) Close() error {
	s.stopBG()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The controllers stop (a leader resigns) before the store closes.
	select {
	case <-s.bgDone:
	case <-ctx.Done():
	}
	// The load balancers' listeners close with the server.
	s.ELB.Close()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.http.Close()
	}
	return errors.Join(err, s.store.Close())
}
