using Registry.LoadBalancing;

namespace Registry.Tests.LoadBalancing;

public sealed class TargetHealthTests
{
    [Fact]
    public void A_new_target_is_healthy_only_after_the_healthy_threshold_of_passes_in_a_row()
    {
        var health = new TargetHealthTracker(healthyThreshold: 3, unhealthyThreshold: 2);
        Assert.False(health.Record(true));
        Assert.False(health.Record(true));
        Assert.False(health.Record(false));
        Assert.Equal(TargetHealthState.Initial, health.State);
        Assert.False(health.Record(true));
        Assert.False(health.Record(true));
        Assert.True(health.Record(true));
        Assert.Equal(TargetHealthState.Healthy, health.State);
    }

    [Fact]
    public void A_healthy_target_turns_unhealthy_after_the_unhealthy_threshold_and_back_after_passes()
    {
        var health = new TargetHealthTracker(healthyThreshold: 1, unhealthyThreshold: 2);
        health.Record(true);
        Assert.False(health.Record(false));
        Assert.Equal(TargetHealthState.Healthy, health.State);
        Assert.True(health.Record(false));
        Assert.Equal(TargetHealthState.Unhealthy, health.State);
        Assert.True(health.Record(true));
        Assert.Equal("healthy", TargetHealthTracker.Describe(health.State));
    }

    [Fact]
    public void Targets_get_requests_by_health_and_load_and_fail_open_when_none_is_healthy()
    {
        var group = TargetGroup.Create("web", new TargetGroupOptions { Listener = "http://127.0.0.1:8080", HealthyThreshold = 1, UnhealthyThreshold = 1 });
        var busy = new Target(group, "busy", "127.0.0.1", 1001);
        var idle = new Target(group, "idle", "127.0.0.1", 1002);
        var fresh = new Target(group, "fresh", "127.0.0.1", 1003);
        var table = new TargetTable();
        table.Replace(new Dictionary<string, IReadOnlyList<Target>> { ["web"] = [busy, idle, fresh] });
        Assert.Null(table.Pick("web", []));

        busy.Record(true);
        idle.Record(true);
        using (busy.Begin())
        {
            Assert.All(Enumerable.Range(0, 10), _ => Assert.Same(idle, table.Pick("web", [])));
            Assert.Same(busy, table.Pick("web", [idle]));
        }

        var picked = Enumerable.Range(0, 20).Select(_ => table.Pick("web", [])!.TaskId).ToHashSet();
        Assert.Equal(["busy", "idle"], picked.Order(StringComparer.Ordinal));

        busy.Record(false);
        idle.Record(false);
        Assert.NotSame(fresh, table.Pick("web", []));
        Assert.Null(table.Pick("web", [busy, idle]));
        Assert.Null(table.Pick("other", []));
    }
}
