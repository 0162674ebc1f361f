using Registry.Scheduler.Services;

namespace Registry.Tests.Scheduler;

public sealed class RollingUpdateTests
{
    private static readonly DateTime T0 = new(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);

    private static ServiceTask Task(string id, string deployment, bool healthy = true, int minute = 0) =>
        new(id, deployment, healthy ? ServiceTaskState.Serving : ServiceTaskState.Starting, T0.AddMinutes(minute));

    private static ServiceTask Unhealthy(string id, string deployment) => new(id, deployment, ServiceTaskState.Unhealthy, T0);

    [Fact]
    public void A_new_service_starts_its_desired_count()
    {
        var step = RollingUpdate.Next(new DeploymentLimits(3, 100, 200), "new", []);

        Assert.Equal(3, step.Start);
        Assert.Empty(step.Stop);
    }

    [Fact]
    public void A_stopped_task_is_replaced()
    {
        var step = RollingUpdate.Next(new DeploymentLimits(3, 100, 200), "d", [Task("a", "d"), Task("b", "d")]);

        Assert.Equal(1, step.Start);
        Assert.Empty(step.Stop);
    }

    [Fact]
    public void At_100_and_200_percent_the_new_tasks_start_first_and_the_old_stop_once_they_serve()
    {
        var limits = new DeploymentLimits(3, 100, 200);
        ServiceTask[] old = [Task("o1", "old"), Task("o2", "old"), Task("o3", "old")];

        var first = RollingUpdate.Next(limits, "new", old);
        Assert.Equal(3, first.Start);
        Assert.Empty(first.Stop);

        var starting = RollingUpdate.Next(limits, "new", [.. old, Task("n1", "new", healthy: false), Task("n2", "new", healthy: false), Task("n3", "new", healthy: false)]);
        Assert.Equal(0, starting.Start);
        Assert.Empty(starting.Stop);

        var serving = RollingUpdate.Next(limits, "new", [.. old, Task("n1", "new"), Task("n2", "new"), Task("n3", "new")]);
        Assert.Equal(0, serving.Start);
        Assert.Equal(["o1", "o2", "o3"], serving.Stop);
    }

    [Fact]
    public void At_50_and_100_percent_half_the_old_tasks_make_room_first()
    {
        var limits = new DeploymentLimits(4, 50, 100);
        ServiceTask[] old = [Task("o1", "old", minute: 1), Task("o2", "old", minute: 2), Task("o3", "old", minute: 3), Task("o4", "old", minute: 4)];

        var first = RollingUpdate.Next(limits, "new", old);

        Assert.Equal(["o1", "o2"], first.Stop);
        Assert.Equal(2, first.Start);

        var second = RollingUpdate.Next(limits, "new", [old[2], old[3], Task("n1", "new"), Task("n2", "new")]);
        Assert.Equal(["o3", "o4"], second.Stop);
        Assert.Equal(2, second.Start);
    }

    [Fact]
    public void The_minimum_holds_while_new_tasks_are_on_their_way()
    {
        var step = RollingUpdate.Next(new DeploymentLimits(2, 100, 150), "new", [Task("o1", "old"), Task("o2", "old"), Task("n1", "new", healthy: false)]);

        Assert.Equal(0, step.Start);
        Assert.Empty(step.Stop);
    }

    [Fact]
    public void With_no_room_at_all_one_old_task_makes_way_once_nothing_new_is_pending()
    {
        var limits = new DeploymentLimits(1, 100, 100);

        var step = RollingUpdate.Next(limits, "new", [Task("o1", "old")]);
        Assert.Equal(["o1"], step.Stop);
        Assert.Equal(1, step.Start);

        var waiting = RollingUpdate.Next(limits, "new", [Task("o1", "old"), Task("n1", "new", healthy: false)]);
        Assert.Empty(waiting.Stop);
        Assert.Equal(0, waiting.Start);
    }

    [Fact]
    public void Old_tasks_that_do_not_serve_go_at_once()
    {
        var step = RollingUpdate.Next(new DeploymentLimits(2, 100, 200), "new", [Task("o1", "old"), Task("o2", "old"), Task("sick", "old", healthy: false)]);

        Assert.Equal(["sick"], step.Stop);
        Assert.Equal(2, step.Start);
    }

    [Fact]
    public void Scaling_in_stops_the_pending_then_the_newest_tasks()
    {
        var step = RollingUpdate.Next(new DeploymentLimits(1, 100, 200), "d", [Task("a", "d", minute: 1), Task("b", "d", minute: 3), Task("c", "d", healthy: false, minute: 2)]);

        Assert.Equal(["c", "b"], step.Stop);
        Assert.Equal(0, step.Start);
    }

    [Fact]
    public void Scaling_to_zero_stops_everything()
    {
        var step = RollingUpdate.Next(new DeploymentLimits(0, 100, 200), "new", [Task("a", "new"), Task("o", "old")]);

        Assert.Equal(0, step.Start);
        Assert.Equal(["a", "o"], step.Stop);
    }

    [Fact]
    public void A_failed_deployment_starts_nothing_more_and_keeps_the_old_tasks()
    {
        var step = RollingUpdate.Next(new DeploymentLimits(2, 50, 200), "new", [Task("o1", "old"), Task("o2", "old"), Task("n1", "new")], canStart: false);

        Assert.Equal(0, step.Start);
        Assert.Empty(step.Stop);
    }

    [Fact]
    public void An_unhealthy_task_is_replaced_as_if_it_had_stopped()
    {
        var step = RollingUpdate.Next(new DeploymentLimits(2, 100, 200), "d", [Task("a", "d"), Unhealthy("sick", "d")]);

        Assert.Equal(["sick"], step.Stop);
        Assert.Equal(1, step.Start);
    }

    [Fact]
    public void Huge_counts_do_not_overflow_the_limits()
    {
        var limits = new DeploymentLimits(5000, 100, 2000);

        Assert.Equal(100_000, limits.MaximumTotal);
        Assert.Equal(5000, limits.MinimumHealthy);
        Assert.Equal(5000, RollingUpdate.Next(limits, "d", []).Start);
    }

    [Theory]
    [InlineData(2, 0)]
    [InlineData(3, 10)]
    [InlineData(5, 40)]
    [InlineData(30, 900)]
    public void Tasks_that_keep_failing_are_restarted_ever_more_slowly(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RollingUpdate.RestartDelay(failures));

    [Theory]
    [InlineData(1, 3)]
    [InlineData(6, 3)]
    [InlineData(7, 4)]
    [InlineData(100, 50)]
    [InlineData(1000, 200)]
    public void The_circuit_breaker_trips_at_half_the_desired_count_from_3_to_200(int desired, int threshold) =>
        Assert.Equal(threshold, RollingUpdate.FailureThreshold(desired));
}
