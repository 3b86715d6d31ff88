package autoscaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/berth-dev/berth/internal/api"
	"github.com/berth-dev/berth/internal/ec2"
	"github.com/berth-dev/berth/internal/store"
)

// The group controller runs on the leader. Each pass it brings every
// group toward its desired capacity:
//
//   - an instance whose EC2 state is stopped, terminated or gone, or whose
//     host stopped beating (EC2's status checks fail) once the grace period
//     has passed, is unhealthy and replaced (unless HealthCheck or
//     ReplaceUnhealthy are suspended);
//   - too few instances: launches, each into the group's zone with the
//     fewest instances;
//   - too many: terminates unprotected instances by the group's
//     termination policies.
//
// A launch is first written into the group as a pending member with a
// client token, then run with that token: a pass cut short by a crash or
// a change of leader repeats the same RunInstances, which EC2 answers
// with the instance already launched, so no instance is lost or doubled.

// launchBackoff holds a group's launches back after one failed.
const launchBackoff = 10 * time.Second

// terminationPolicies are the policies a group may list, in AWS's names.
var terminationPolicies = []string{"Default", "OldestInstance", "NewestInstance", "OldestLaunchConfiguration",
	"OldestLaunchTemplate", "ClosestToNextInstanceHour", "AllocationStrategy"}

func (s *Service) runGroups(ctx context.Context) error {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if err := s.reconcileAll(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("auto scaling pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.kick:
		}
	}
}

// world is what a pass knows of EC2.
type world struct {
	instances map[string]ec2.InstanceRecord
	live      map[string]bool
}

func (s *Service) reconcileAll(ctx context.Context) error {
	groups, err := store.List[groupRecord](ctx, s.store, s.keys.groups())
	if err != nil || len(groups) == 0 {
		return err
	}
	all, err := s.ec2.Instances(ctx)
	if err != nil {
		return err
	}
	w := world{instances: make(map[string]ec2.InstanceRecord, len(all))}
	for _, it := range all {
		w.instances[it.Value.ID] = it.Value
	}
	if w.live, err = s.ec2.LiveHosts(ctx); err != nil {
		return err
	}
	var errs []error
	for _, g := range groups {
		if err := s.reconcile(ctx, g.Value.Name, w); err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g.Value.Name, err))
		}
	}
	return errors.Join(errs...)
}

// effects are what a pass does outside the group record, once the
// record says it will.
type effects struct {
	launch    []member
	draining  []member // in Terminating:Wait
	terminate []string
	started   []Activity
	finished  []finished
	deleted   bool
	prune     bool
}

type finished struct{ activity, status, message string }

// reconcile runs one pass over a group: it decides and records the
// changes, then acts on them, then records the launches' outcome.
func (s *Service) reconcile(ctx context.Context, name string, w world) error {
	var fx effects
	var cfg *groupRecord
	err := s.mutate(ctx, name, func(g *groupRecord) error {
		fx = s.plan(g, w)
		cfg = g
		return nil
	})
	if err != nil || cfg == nil {
		return err
	}
	if err := s.putActivities(ctx, fx.started...); err != nil {
		return err
	}
	for _, f := range fx.finished {
		if err := s.finishActivity(ctx, name, f.activity, f.status, f.message); err != nil {
			return err
		}
	}
	if len(fx.terminate) > 0 {
		if _, err := s.ec2.TerminateInstances(s.asService(ctx), &ec2.InstanceIdsInput{InstanceIds: fx.terminate}); err != nil {
			s.log.Warn("terminate a group's instances", "group", name, "instances", fx.terminate, "err", err)
		}
	}
	if fx.deleted {
		return s.store.Commit(ctx, store.NewTxn().DeletePrefix(s.keys.policies(name)))
	}
	if len(fx.launch) > 0 {
		if err := s.launch(ctx, cfg, fx.launch); err != nil {
			return err
		}
	}
	if len(fx.draining) > 0 {
		if err := s.drain(ctx, name, fx.draining); err != nil {
			return err
		}
	}
	if fx.prune {
		return s.pruneActivities(ctx, name)
	}
	return nil
}

// mutate applies change to the group's record and commits it, again on a
// conflict. A group that is gone is left alone.
func (s *Service) mutate(ctx context.Context, name string, change func(*groupRecord) error) error {
	return store.Retry(ctx, func() error {
		it, err := store.Get[groupRecord](ctx, s.store, s.keys.group(name))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		before, _ := jsonOf(it.Value)
		if err := change(&it.Value); err != nil {
			return err
		}
		if it.Value.Deleting && len(it.Value.Instances) == 0 {
			return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Delete(it.Key))
		}
		if after, _ := jsonOf(it.Value); after == before {
			return nil
		}
		return s.store.Commit(ctx, store.NewTxn().IfRev(it.Key, it.Rev).Put(it.Key, it.Value))
	})
}

// plan decides a pass over g: it changes g and returns what to do.
func (s *Service) plan(g *groupRecord, w world) effects {
	var fx effects
	now := s.now().UTC()
	keep := g.Instances[:0]
	for _, m := range g.Instances {
		if m.ID == "" {
			// A launch decided by an earlier pass that did not finish.
			fx.launch = append(fx.launch, m)
			keep = append(keep, m)
			continue
		}
		r, ok := w.instances[m.ID]
		gone := !ok || r.State == ec2.StateTerminated
		if !m.active() {
			if gone {
				fx.finished = append(fx.finished, finished{m.Activity, "Successful", ""})
				continue
			}
			if m.State == stateTerminatingWait {
				fx.draining = append(fx.draining, m)
				keep = append(keep, m)
				continue
			}
			if m.State == stateStandby {
				keep = append(keep, m)
				continue
			}
			if r.State != ec2.StateShuttingDown {
				fx.terminate = append(fx.terminate, m.ID)
			}
			keep = append(keep, m)
			continue
		}
		if m.State == statePending && r.State == ec2.StateRunning {
			m.State = stateInService
			fx.finished = append(fx.finished, finished{m.Activity, "Successful", ""})
			m.Activity = ""
		}
		reason := ""
		if !g.suspended("HealthCheck") {
			reason = unhealthyReason(m, r, ok, w.live, g.GracePeriod, now)
		}
		if reason == "" && m.Health == unhealthy {
			reason = "a user health-check" // SetInstanceHealth
		}
		if reason != "" {
			m.Health = unhealthy
			if !g.suspended("ReplaceUnhealthy") {
				if m.Activity != "" {
					fx.finished = append(fx.finished, finished{m.Activity, "Cancelled", "The instance failed before it was in service."})
				}
				act := s.newActivity(g, "Terminating EC2 instance: "+m.ID,
					fmt.Sprintf("At %s an instance was taken out of service in response to %s.", stamp(now), reason))
				fx.started = append(fx.started, act)
				m.State, m.Activity = stateTerminating, act.ActivityId
				if gone {
					fx.finished = append(fx.finished, finished{act.ActivityId, "Successful", ""})
					continue
				}
				if r.State != ec2.StateShuttingDown {
					fx.terminate = append(fx.terminate, m.ID)
				}
			}
		}
		keep = append(keep, m)
	}
	g.Instances = keep
	if g.Deleting {
		for i := range g.Instances {
			m := &g.Instances[i]
			if (m.active() || m.State == stateStandby) && m.ID != "" {
				act := s.newActivity(g, "Terminating EC2 instance: "+m.ID,
					fmt.Sprintf("At %s an instance was taken out of service in response to a user request to delete the group.", stamp(now)))
				fx.started = append(fx.started, act)
				m.State, m.Activity = stateTerminating, act.ActivityId
				fx.terminate = append(fx.terminate, m.ID)
			}
		}
		fx.deleted = len(g.Instances) == 0
		return fx
	}
	active := g.activeCount()
	switch {
	case active > g.Desired && !g.suspended("Terminate"):
		victims := chooseVictims(g, active-g.Desired)
		for i, m := range victims {
			cause := fmt.Sprintf("At %s an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from %d to %d.  At %s instance %s was selected for termination.",
				stamp(now), active, g.Desired, stamp(now), m.ID)
			if g.Cause != "" {
				cause = g.Cause + "  " + cause
			}
			act := s.newActivity(g, "Terminating EC2 instance: "+m.ID, cause)
			victims[i].State, victims[i].Activity = stateTerminating, act.ActivityId
			if s.drainer != nil {
				act.StatusCode = "MidLifecycleAction"
				victims[i].State, victims[i].Waiting = stateTerminatingWait, now
				fx.draining = append(fx.draining, *victims[i])
			} else {
				fx.terminate = append(fx.terminate, m.ID)
			}
			fx.started = append(fx.started, act)
		}
	case active < g.Desired && !g.suspended("Launch") && !now.Before(g.RetryAfter):
		for active < g.Desired {
			zone, subnet := nextPlacement(g)
			m := member{Zone: zone, Subnet: subnet, State: statePending, Health: healthy, Protected: g.ProtectNew,
				LaunchConfiguration: g.LaunchConfiguration, Template: g.Template, Token: uuid.NewString(),
				Cause: fmt.Sprintf("At %s an instance was started in response to a difference between desired and actual capacity, increasing the capacity from %d to %d.", stamp(now), active, g.Desired)}
			if g.Cause != "" {
				m.Cause = g.Cause + "  " + m.Cause
			}
			g.Instances = append(g.Instances, m)
			fx.launch = append(fx.launch, m)
			active++
		}
	}
	fx.prune = len(fx.started) > 0
	return fx
}

// unhealthyReason says why an EC2 health check fails for m, "" when it
// passes.
func unhealthyReason(m member, r ec2.InstanceRecord, exists bool, live map[string]bool, grace int, now time.Time) string {
	switch {
	case !exists, r.State == ec2.StateTerminated, r.State == ec2.StateShuttingDown, r.State == ec2.StateStopping, r.State == ec2.StateStopped:
		return "an EC2 health check indicating it has been terminated or stopped"
	case r.State == ec2.StateRunning && !live[r.Host] && now.After(m.Launched.Add(time.Duration(grace)*time.Second)):
		return "an EC2 instance status checks failure"
	}
	return ""
}

// nextPlacement is the zone with the fewest of the group's instances (the
// first such in the group's order) and a subnet of the group in it (the
// least used), "" when the group names zones only.
func nextPlacement(g *groupRecord) (zone, subnet string) {
	perZone, perSubnet := map[string]int{}, map[string]int{}
	for _, m := range g.Instances {
		if m.active() {
			perZone[m.Zone]++
			perSubnet[m.Subnet]++
		}
	}
	zone = g.Zones[0]
	for _, z := range g.Zones[1:] {
		if perZone[z] < perZone[zone] {
			zone = z
		}
	}
	for _, id := range g.Subnets {
		if g.subnetZone(id) == zone && (subnet == "" || perSubnet[id] < perSubnet[subnet]) {
			subnet = id
		}
	}
	return zone, subnet
}

// subnetZone is the zone of one of the group's subnets.
func (g *groupRecord) subnetZone(id string) string { return g.SubnetZones[id] }

// jsonOf is v's JSON, to tell whether a pass changed a record.
func jsonOf(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// chooseVictims picks n unprotected active instances to terminate, by the
// group's termination policies. Default is AWS's: the zone with the most
// instances first, then instances of the oldest launch configuration or
// template (those not of the group's current one), then, since Berth
// bills no instance hours, the instance launched first (AWS's "closest to
// the next billing hour" stand-in); ties by instance id.
func chooseVictims(g *groupRecord, n int) []*member {
	var out []*member
	for ; n > 0; n-- {
		var best *member
		perZone := map[string]int{}
		for _, m := range g.Instances {
			if m.active() {
				perZone[m.Zone]++
			}
		}
		for i := range g.Instances {
			m := &g.Instances[i]
			if !m.active() || m.Protected || m.ID == "" {
				continue
			}
			if best == nil || g.prefer(m, best, perZone) {
				best = m
			}
		}
		if best == nil {
			break
		}
		best.State = stateTerminating
		out = append(out, best)
	}
	return out
}

// prefer reports whether a is a better victim than b.
func (g *groupRecord) prefer(a, b *member, perZone map[string]int) bool {
	if perZone[a.Zone] != perZone[b.Zone] {
		return perZone[a.Zone] > perZone[b.Zone]
	}
	for _, p := range g.TerminationPolicies {
		switch p {
		case "OldestInstance", "ClosestToNextInstanceHour":
			if !a.Launched.Equal(b.Launched) {
				return a.Launched.Before(b.Launched)
			}
		case "NewestInstance":
			if !a.Launched.Equal(b.Launched) {
				return a.Launched.After(b.Launched)
			}
		case "OldestLaunchConfiguration", "OldestLaunchTemplate", "Default", "AllocationStrategy":
			if sa, sb := g.outdated(a), g.outdated(b); sa != sb {
				return sa
			}
			if p == "Default" && !a.Launched.Equal(b.Launched) {
				return a.Launched.Before(b.Launched)
			}
		}
	}
	return a.ID < b.ID
}

// outdated reports whether m was launched from another launch source
// than the group's current one.
func (g *groupRecord) outdated(m *member) bool {
	if g.Template != nil {
		return m.Template == nil || *m.Template != *g.Template
	}
	return m.LaunchConfiguration != g.LaunchConfiguration
}

// launch runs the launches a pass decided and records their instances;
// a launch that fails is dropped from the group, recorded as a failed
// activity, and holds the group's launches back for a while.
func (s *Service) launch(ctx context.Context, g *groupRecord, pending []member) error {
	type outcome struct {
		id       string
		launched time.Time
		typ      string
		activity string
		failed   bool
	}
	results := map[string]outcome{}
	for _, m := range pending {
		in, err := s.runInput(ctx, g, m)
		var res *ec2.Reservation
		if err == nil {
			res, err = s.ec2.RunInstances(s.asService(ctx), in)
		}
		if err != nil {
			msg := api.AsError(err).Message
			act := s.newActivity(g, "Launching a new EC2 instance.  Status Reason: "+msg+". Launching EC2 instance failed.", m.Cause)
			end := act.StartTime
			act.StatusCode, act.StatusMessage, act.Progress, act.EndTime = "Failed", msg, 100, &end
			if err := s.putActivities(ctx, act); err != nil {
				return err
			}
			results[m.Token] = outcome{failed: true}
			s.log.Warn("launch a group's instance", "group", g.Name, "err", err)
			continue
		}
		inst := res.Instances[0]
		act := s.newActivity(g, "Launching a new EC2 instance: "+inst.InstanceID, m.Cause)
		if err := s.putActivities(ctx, act); err != nil {
			return err
		}
		results[m.Token] = outcome{id: inst.InstanceID, typ: inst.InstanceType, activity: act.ActivityId, launched: s.now().UTC()}
	}
	return s.mutate(ctx, g.Name, func(g *groupRecord) error {
		failed := false
		g.Instances = slices.DeleteFunc(g.Instances, func(m member) bool {
			r, ok := results[m.Token]
			failed = failed || (ok && r.failed && m.ID == "")
			return ok && r.failed && m.ID == ""
		})
		for i := range g.Instances {
			m := &g.Instances[i]
			if r, ok := results[m.Token]; ok && m.ID == "" && !r.failed {
				m.ID, m.Type, m.Activity, m.Launched = r.id, r.typ, r.activity, r.launched
			}
		}
		if failed {
			g.RetryAfter = s.now().Add(launchBackoff)
		}
		return nil
	})
}

// runInput is the RunInstances call of one launch: the group's launch
// template or configuration, in the member's subnet (or zone), with the
// group's propagated tags and aws:autoscaling:groupName.
func (s *Service) runInput(ctx context.Context, g *groupRecord, m member) (*ec2.RunInstancesInput, error) {
	in := &ec2.RunInstancesInput{MinCount: 1, MaxCount: 1, SubnetId: m.Subnet, ClientToken: m.Token,
		ReservedTags: []ec2.Tag{{Key: "aws:autoscaling:groupName", Value: g.Name}}}
	if m.Subnet == "" {
		in.Placement = &ec2.TemplatePlacement{AvailabilityZone: m.Zone}
	}
	var tags []ec2.Tag
	for _, t := range g.Tags {
		if t.PropagateAtLaunch {
			tags = append(tags, ec2.Tag{Key: t.Key, Value: t.Value})
		}
	}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2.TagSpecification{{ResourceType: "instance", Tags: tags}}
	}
	switch {
	case m.Template != nil:
		in.LaunchTemplate = &ec2.LaunchTemplateSpec{LaunchTemplateId: m.Template.ID, Version: m.Template.Version}
	case m.LaunchConfiguration != "":
		lc, err := s.launchConfig(ctx, m.LaunchConfiguration)
		if err != nil {
			return nil, err
		}
		c := lc.Value
		in.ImageId, in.InstanceType, in.KeyName, in.UserData = c.ImageID, c.InstanceType, c.KeyName, c.UserData
		for _, sg := range c.SecurityGroups {
			if strings.HasPrefix(sg, "sg-") {
				in.SecurityGroupIds = append(in.SecurityGroupIds, sg)
			} else {
				in.SecurityGroups = append(in.SecurityGroups, sg)
			}
		}
		if c.Profile != "" {
			in.IamInstanceProfile = &ec2.InstanceProfileRef{Name: c.Profile}
			if isARN(c.Profile) {
				in.IamInstanceProfile = &ec2.InstanceProfileRef{Arn: c.Profile}
			}
		}
	}
	return in, nil
}

// drain asks ECS about each instance waiting in Terminating:Wait and
// terminates those it lets go, or that waited DrainTimeout.
func (s *Service) drain(ctx context.Context, group string, waiting []member) error {
	var done []string
	for _, m := range waiting {
		ok := s.drainer == nil || s.now().Sub(m.Waiting) > DrainTimeout
		if !ok {
			var err error
			if ok, err = s.drainer.DrainBeforeTermination(ctx, m.ID); err != nil {
				return err
			}
		}
		if ok {
			done = append(done, m.ID)
		}
	}
	if len(done) == 0 {
		return nil
	}
	if err := s.mutate(ctx, group, func(g *groupRecord) error {
		for _, id := range done {
			if m := g.member(id); m != nil && m.State == stateTerminatingWait {
				m.State = stateTerminating
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if _, err := s.ec2.TerminateInstances(s.asService(ctx), &ec2.InstanceIdsInput{InstanceIds: done}); err != nil {
		s.log.Warn("terminate drained instances", "group", group, "instances", done, "err", err)
	}
	return nil
}
