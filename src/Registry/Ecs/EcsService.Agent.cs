using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Data;
using Registry.AwsApi;
using Registry.Data.Entities;
using Registry.Iam;
using Registry.Scheduler.Services;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// What agents call, authorized with ECS's agent actions (<c>ecs:Poll</c>, <c>ecs:SubmitTaskStateChange</c>,
/// <c>ecs:SubmitContainerStateChange</c>): a long poll that is also the heartbeat and returns the
/// instance's tasks whenever one changed, and ECS's state-change submissions.
/// </summary>
internal sealed partial class EcsService
{
    private const int MaxPollSeconds = 20;

    private async Task<object> PollAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:Poll", ClusterArn(cluster.Name));
        var instanceId = ContainerInstanceId(call.Required("containerInstance"));
        var known = call.Array("knownTasks", required: false)
            .Select(k => (Id: TaskIdOf(Text(k, "taskArn") ?? throw AwsApiException.InvalidParameter("knownTasks need a taskArn")),
                          Version: k.TryGetProperty("version", out var v) ? v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : throw AwsApiException.InvalidParameter("knownTasks versions must be integers") : -1))
            .ToDictionary(k => k.Id, k => k.Version, StringComparer.Ordinal);
        var wait = !call.Body.TryGetProperty("waitSeconds", out var w) ? 0
            : w.ValueKind == JsonValueKind.Number && w.TryGetInt32(out var seconds) ? Math.Clamp(seconds, 0, MaxPollSeconds)
            : throw AwsApiException.InvalidParameter("waitSeconds must be a whole number of seconds");
        var signals = call.Context.RequestServices.GetRequiredService<AgentSignals>();
        var deadline = DateTime.UtcNow.AddSeconds(wait);
        while (true)
        {
            var (answer, woken) = await PollOnceAsync(call, cluster, instanceId, known, signals, deadline);
            if (answer is not null)
            {
                return answer;
            }

            // The context went back to the pool inside PollOnceAsync: nothing is held while waiting.
            var remaining = deadline - DateTime.UtcNow;
            await Task.WhenAny(woken, Task.Delay(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, call.Context.RequestAborted));
            call.Context.RequestAborted.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// One look at the instance's tasks (and its heartbeat): the answer when something changed or the wait
    /// is over, otherwise null and the signal to wait for.
    /// </summary>
    private async Task<(object? Answer, Task Woken)> PollOnceAsync(AwsCall call, ClusterEntity cluster, string instanceId, Dictionary<string, long> known, AgentSignals signals, DateTime deadline)
    {
        await using var db = await DbAsync(call);
        var instance = await db.ContainerInstances.FirstOrDefaultAsync(i => i.ClusterId == cluster.Id && i.InstanceId == instanceId, call.Context.RequestAborted)
                       ?? throw new AwsApiException("InvalidParameterException", "The container instance is not registered in this cluster.");
        if (instance.Status == "INACTIVE")
        {
            throw new AwsApiException("ClientException", "The container instance has been deregistered; register it again.");
        }

        RequireOwner(call, instance);
        var woken = signals.Next(instance.Id);
        await HeartbeatAsync(db, instance, call.Context.RequestAborted);
        var knownIds = known.Keys.ToList();
        var views = await TaskViews(db, db.Tasks.Where(t => t.ContainerInstanceId == instance.Id && (t.LastStatus != TaskStatuses.Stopped || knownIds.Contains(t.TaskId))), cluster.Name)
            .ToListAsync(call.Context.RequestAborted);
        var changed = views.Count != known.Count || views.Any(v => !known.TryGetValue(v.Task.TaskId, out var version) || version != v.Task.Version);
        if (!changed && deadline > DateTime.UtcNow)
        {
            return (null, woken);
        }

        var definitions = await db.TaskDefinitions.AsNoTracking().Where(d => views.Select(v => v.Task.TaskDefinitionId).Contains(d.Id)).ToDictionaryAsync(d => d.Id, call.Context.RequestAborted);
        var sessions = call.Context.RequestServices.GetRequiredService<RoleSessions>();
        var credentials = new Dictionary<string, (object? Task, object? Execution)>(StringComparer.Ordinal);
        foreach (var view in views.Where(v => v.Task.LastStatus != TaskStatuses.Stopped))
        {
            credentials[view.Task.TaskId] = await RoleCredentialsAsync(db, sessions, view.Task, JsonNode.Parse(definitions[view.Task.TaskDefinitionId].Document)!, call.Context.RequestAborted);
        }

        var answer = new
        {
            tasks = views.Select(v => new
            {
                taskArn = TaskArn(cluster.Name, v.Task.TaskId),
                version = v.Task.Version,
                // A draining task keeps running until its deregistration delay is over.
                desiredStatus = v.Task.DrainingUntil is null ? v.Task.DesiredStatus : TaskStatuses.Running,
                lastStatus = v.Task.LastStatus,
                taskDefinition = ForAgent(Describe(definitions[v.Task.TaskDefinitionId])),
                overrides = JsonNode.Parse(v.Task.Overrides),
                roleCredentials = credentials.GetValueOrDefault(v.Task.TaskId).Task,
                executionRoleCredentials = credentials.GetValueOrDefault(v.Task.TaskId).Execution,
            }).ToList(),
            heartbeatSeconds = (int)AgentTimeout(call).TotalSeconds / 3,
        };
        return (answer, woken);
    }

    private async Task<object> SubmitTaskStateChangeAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:SubmitTaskStateChange", ClusterArn(cluster.Name));
        var taskId = TaskIdOf(call.Required("task"));
        var status = call.Optional("status");
        var containers = call.Array("containers", required: false).Select(ReadContainerReport).ToList();
        await ApplyReportAsync(call, cluster, taskId, task => new TaskReport(
            status ?? task.LastStatus,
            call.Optional("reason"),
            containers,
            OptionalTime(call, "pullStartedAt"),
            OptionalTime(call, "pullStoppedAt"),
            OptionalTime(call, "executionStoppedAt")));
        return new { acknowledgment = "ACK" };
    }

    private async Task<object> SubmitContainerStateChangeAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:SubmitContainerStateChange", ClusterArn(cluster.Name));
        var taskId = TaskIdOf(call.Required("task"));
        var container = ReadContainerReport(call.Body);
        await ApplyReportAsync(call, cluster, taskId, task => new TaskReport(task.LastStatus, null, [container]));
        return new { acknowledgment = "ACK" };
    }

    private static async Task ApplyReportAsync(AwsCall call, ClusterEntity cluster, string taskId, Func<TaskEntity, TaskReport> report)
    {
        await using var db = await DbAsync(call);
        await using var transaction = await db.Database.BeginTransactionAsync(call.Context.RequestAborted);
        await db.LockRowsAsync(RowLocks(call).ForUpdate, "Tasks", "TaskId", [taskId], call.Context.RequestAborted);
        var task = await db.Tasks.FirstOrDefaultAsync(t => t.ClusterId == cluster.Id && t.TaskId == taskId, call.Context.RequestAborted)
                   ?? throw new AwsApiException("InvalidParameterException", "The referenced task was not found.");
        if (task.ContainerInstanceId is { } instanceId && await db.ContainerInstances.FirstOrDefaultAsync(i => i.Id == instanceId, call.Context.RequestAborted) is { } reporter)
        {
            RequireOwner(call, reporter);
        }

        try
        {
            if (!TaskLifecycle.Apply(task, report(task), DateTime.UtcNow))
            {
                return;
            }
        }
        catch (ArgumentException e)
        {
            throw AwsApiException.InvalidParameter(e.Message);
        }

        await db.SaveChangesAsync(call.Context.RequestAborted);
        await transaction.CommitAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        WakeAgents(call, task.ContainerInstanceId is { } instance ? [instance] : []);
        if (ServiceStatuses.ServiceOf(task.Group) is not null)
        {
            WakeServiceScheduler(call);
        }
    }

    private static ContainerReport ReadContainerReport(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw AwsApiException.InvalidParameter("containers must be objects with a containerName and a status");
        }

        var name = Text(element, "containerName") ?? throw AwsApiException.InvalidParameter("containers need a containerName");
        var status = Text(element, "status") ?? throw AwsApiException.InvalidParameter("containers need a status");
        if (!TaskStatuses.IsKnown(status))
        {
            throw AwsApiException.InvalidParameter($"'{status}' is not a container status");
        }

        int? exitCode = !element.TryGetProperty("exitCode", out var code) || code.ValueKind == JsonValueKind.Null ? null
            : code.ValueKind == JsonValueKind.Number && code.TryGetInt32(out var exit) ? exit
            : throw AwsApiException.InvalidParameter("exitCode must be an integer");
        var bindings = element.TryGetProperty("networkBindings", out var b) && b.ValueKind == JsonValueKind.Array
            ? b.EnumerateArray().Select(n => new NetworkBinding(Text(n, "bindIP") ?? "0.0.0.0", Port(n, "containerPort"), Port(n, "hostPort"), Text(n, "protocol") ?? "tcp")).ToList()
            : null;
        var reason = Text(element, "reason");
        return new ContainerReport(name, status, exitCode, reason is { Length: > 1024 } ? reason[..1024] : reason, Text(element, "runtimeId"), bindings, Text(element, "logTail"), Text(element, "healthStatus"));
    }

    private static int Port(JsonElement binding, string name) =>
        !binding.TryGetProperty(name, out var port) ? 0
        : port.ValueKind == JsonValueKind.Number && port.TryGetInt32(out var number) && number is >= 0 and <= 65535 ? number
        : throw AwsApiException.InvalidParameter($"networkBindings {name} must be a port number");

    /// <summary>A time in seconds since the epoch, as the AWS JSON protocols write them; within years 1970 to 9999.</summary>
    private static DateTime? OptionalTime(AwsCall call, string name) =>
        !call.Body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.GetDouble() is >= 0 and < 253_402_300_800 and var seconds
            ? DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000)).UtcDateTime
            : throw AwsApiException.InvalidParameter($"{name} must be seconds since the epoch");

    /// <summary>A poll is the heartbeat: an agent that was marked disconnected is connected again.</summary>
    private static async Task HeartbeatAsync(RegistryDbContext db, ContainerInstanceEntity instance, CancellationToken cancellationToken)
    {
        instance.LastHeartbeatAt = DateTime.UtcNow;
        if (!instance.AgentConnected)
        {
            instance.AgentConnected = true;
            instance.Version++;
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    private static TimeSpan AgentTimeout(AwsCall call) => call.Context.RequestServices.GetRequiredService<IOptions<SchedulerOptions>>().Value.AgentTimeout;
}
