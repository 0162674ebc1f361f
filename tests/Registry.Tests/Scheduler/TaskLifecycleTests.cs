using Registry.Data.Entities;
using Registry.Scheduler.Tasks;

namespace Registry.Tests.Scheduler;

public sealed class TaskLifecycleTests
{
    private static readonly DateTime Now = new(2026, 11, 26, 12, 0, 0, DateTimeKind.Utc);

    private static TaskEntity NewTask(params (string Name, bool Essential)[] containers) => new()
    {
        TaskId = "0123456789abcdef0123456789abcdef",
        Group = "family:web",
        LastStatus = TaskStatuses.Provisioning,
        DesiredStatus = TaskStatuses.Running,
        HostPorts = "",
        Overrides = "{}",
        Containers = TaskContainer.WriteAll(containers.Select(c => new TaskContainer { Name = c.Name, Image = "busybox", Essential = c.Essential })),
        Version = 1,
    };

    private static TaskContainer Container(TaskEntity task, string name) => TaskContainer.ReadAll(task.Containers).Single(c => c.Name == name);

    [Fact]
    public void Statuses_only_move_forward_and_each_change_raises_the_version()
    {
        var task = NewTask(("app", true));

        Assert.True(TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Pending, null, []), Now));
        Assert.True(TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Running, null, [new ContainerReport("app", TaskStatuses.Running, RuntimeId: "abc")]), Now));
        Assert.False(TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Pending, null, []), Now));

        Assert.Equal(TaskStatuses.Running, task.LastStatus);
        Assert.Equal(Now, task.StartedAt);
        Assert.Equal(3, task.Version);
        Assert.Equal("abc", Container(task, "app").RuntimeId);
    }

    [Fact]
    public void An_essential_container_exiting_stops_the_task_with_its_exit_code()
    {
        var task = NewTask(("app", true), ("sidecar", false));
        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Running, null, []), Now);

        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Running, null, [new ContainerReport("app", TaskStatuses.Stopped, ExitCode: 3)]), Now);

        Assert.Equal(TaskStatuses.Stopped, task.DesiredStatus);
        Assert.Equal(TaskStatuses.Running, task.LastStatus);
        Assert.Equal(StopCodes.EssentialContainerExited, task.StopCode);
        Assert.Equal("Essential container in task exited", task.StoppedReason);

        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Stopped, null, [new ContainerReport("sidecar", TaskStatuses.Stopped, ExitCode: 137)]), Now.AddSeconds(5));

        Assert.Equal(TaskStatuses.Stopped, task.LastStatus);
        Assert.Equal(Now.AddSeconds(5), task.StoppedAt);
        Assert.Equal(3, Container(task, "app").ExitCode);
        Assert.Equal(137, Container(task, "sidecar").ExitCode);
    }

    [Fact]
    public void A_non_essential_container_exiting_leaves_the_task_running()
    {
        var task = NewTask(("app", true), ("init", false));
        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Running, null, []), Now);

        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Running, null, [new ContainerReport("init", TaskStatuses.Stopped, ExitCode: 0)]), Now);

        Assert.Equal(TaskStatuses.Running, task.DesiredStatus);
        Assert.Null(task.StopCode);
    }

    [Fact]
    public void A_task_stopping_before_it_ran_failed_to_start_with_the_agents_reason()
    {
        var task = NewTask(("app", true));
        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Pending, null, []), Now);

        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Stopped, null, [new ContainerReport("app", TaskStatuses.Stopped, Reason: "CannotPullContainerError: manifest unknown")]), Now);

        Assert.Equal(StopCodes.TaskFailedToStart, task.StopCode);
        Assert.Equal("CannotPullContainerError: manifest unknown", task.StoppedReason);
        Assert.Null(task.StartedAt);
    }

    [Fact]
    public void Stopping_by_user_keeps_the_first_reason_and_an_unpicked_task_stops_at_once()
    {
        var placed = NewTask(("app", true));
        var running = NewTask(("app", true));
        TaskLifecycle.Apply(running, new TaskReport(TaskStatuses.Running, null, []), Now);

        Assert.True(TaskLifecycle.RequestStop(placed, "no longer needed", StopCodes.UserInitiated, Now));
        Assert.True(TaskLifecycle.RequestStop(running, "deploy done", StopCodes.UserInitiated, Now));
        Assert.False(TaskLifecycle.RequestStop(running, "again", StopCodes.UserInitiated, Now));

        Assert.Equal(TaskStatuses.Stopped, placed.LastStatus);
        Assert.Equal(TaskStatuses.Running, running.LastStatus);
        Assert.Equal(TaskStatuses.Stopped, running.DesiredStatus);
        Assert.Equal("deploy done", running.StoppedReason);
        Assert.Equal(StopCodes.UserInitiated, running.StopCode);

        TaskLifecycle.Apply(running, new TaskReport(TaskStatuses.Stopped, null, [new ContainerReport("app", TaskStatuses.Stopped, ExitCode: 143)]), Now);
        Assert.Equal(StopCodes.UserInitiated, running.StopCode);
    }

    [Fact]
    public void A_lost_task_is_stopped_with_the_reason_and_its_containers_stopped()
    {
        var task = NewTask(("app", true));
        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Running, null, []), Now);

        TaskLifecycle.MarkLost(task, "Task lost: agent gone", Now);

        Assert.Equal(TaskStatuses.Stopped, task.LastStatus);
        Assert.Equal(StopCodes.TerminationNotice, task.StopCode);
        Assert.Equal("Task lost: agent gone", task.StoppedReason);
        Assert.Equal(TaskStatuses.Stopped, Container(task, "app").LastStatus);
    }

    [Fact]
    public void An_unknown_status_is_refused() =>
        Assert.Throws<ArgumentException>(() => TaskLifecycle.Apply(NewTask(("app", true)), new TaskReport("EXPLODED", null, []), Now));

    [Theory]
    [InlineData("HEALTHY", "HEALTHY", "HEALTHY")]
    [InlineData("HEALTHY", "UNHEALTHY", "UNHEALTHY")]
    [InlineData("HEALTHY", "UNKNOWN", "UNKNOWN")]
    [InlineData("UNKNOWN", "UNKNOWN", "UNKNOWN")]
    public void Task_health_follows_its_essential_containers(string first, string second, string expected)
    {
        var task = NewTask(("app", true), ("proxy", true), ("sidecar", false));
        TaskLifecycle.Apply(task, new TaskReport(TaskStatuses.Running, null, [
            new ContainerReport("app", TaskStatuses.Running, HealthStatus: first),
            new ContainerReport("proxy", TaskStatuses.Running, HealthStatus: second),
            new ContainerReport("sidecar", TaskStatuses.Running, HealthStatus: "UNHEALTHY"),
        ]), Now);

        Assert.Equal(expected, TaskLifecycle.TaskHealth(TaskContainer.ReadAll(task.Containers)));
    }
}
