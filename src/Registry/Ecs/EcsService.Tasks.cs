using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Registry.AwsApi;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Scheduler.Placement;
using Registry.Scheduler.Services;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// Tasks: RunTask places copies of a task definition with the placement strategies and constraints,
/// StartTask on named instances; StopTask, DescribeTasks and ListTasks as ECS has them. Placement runs
/// in one transaction holding the cluster's row, so concurrent placements never share a resource.
/// </summary>
internal sealed partial class EcsService
{
    private async Task<object> RunTaskAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        var definition = await FindTaskDefinitionAsync(call, call.Required("taskDefinition"), activeOnly: false);
        await AuthorizeAsync(call, "ecs:RunTask", TaskDefinitionArn(definition.Family, definition.Revision));
        RequireActive(definition);
        var launchType = ReadLaunchType(call, definition);

        var count = call.Body.TryGetProperty("count", out var countElement) && countElement.ValueKind != JsonValueKind.Null
            ? countElement.ValueKind == JsonValueKind.Number && countElement.TryGetInt32(out var n) && n is >= 1 and <= 10 ? n : throw AwsApiException.InvalidParameter("count must be an integer from 1 to 10")
            : 1;
        var request = ReadTaskRequest(call, definition);
        await RequireAssumableRolesAsync(call, definition, request.Overrides);
        if (launchType == LaunchTypes.Kubernetes)
        {
            return await RunOnKubernetesAsync(call, cluster, definition, request, count);
        }

        var strategies = Parse(() => call.Array("placementStrategy", required: false).Select(s => PlacementStrategy.Create(Text(s, "type") ?? "", Text(s, "field"))).ToList());

        await using var db = await DbAsync(call);
        await using var transaction = await db.Database.BeginTransactionAsync(call.Context.RequestAborted);
        await db.LockRowsAsync(RowLocks(call).ForUpdate, "Clusters", "Id", [cluster.Id], call.Context.RequestAborted);
        var instances = await CapacitiesAsync(db, cluster, null, launchType, call.Context.RequestAborted);
        if (instances.Count == 0)
        {
            return new { tasks = Array.Empty<object>(), failures = new[] { new { arn = ClusterArn(cluster.Name), reason = NoCapacity(launchType) } } };
        }

        var placement = TaskPlacer.Place(instances, request.Plan.Demand(request.Group), count, strategies, request.Constraints, Random.Shared);
        var tasks = placement.Placed.Select(instance => NewTask(cluster, definition, instance.Id, request, launchType)).ToList();
        db.Tasks.AddRange(tasks);
        await db.SaveChangesAsync(call.Context.RequestAborted);
        await transaction.CommitAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        WakeAgents(call, placement.Placed.Select(i => i.Id));
        return new
        {
            tasks = tasks.Select(t => Describe(new TaskView(t, cluster.Name, definition.Family, definition.Revision, ContainerInstanceId(instances.First(i => i.Id == t.ContainerInstanceId).Arn)))).ToList(),
            failures = placement.Failures.Select(f => new { arn = f.Arn, reason = f.Reason }).ToList(),
        };
    }

    private async Task<object> StartTaskAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        var definition = await FindTaskDefinitionAsync(call, call.Required("taskDefinition"), activeOnly: false);
        await AuthorizeAsync(call, "ecs:StartTask", TaskDefinitionArn(definition.Family, definition.Revision));
        RequireActive(definition);
        var targets = call.Strings("containerInstances", required: true);
        if (targets.Count is 0 or > 10)
        {
            throw AwsApiException.InvalidParameter("containerInstances must name 1 to 10 container instances");
        }

        var request = ReadTaskRequest(call, definition);
        await RequireAssumableRolesAsync(call, definition, request.Overrides);
        var ids = targets.Select(ContainerInstanceId).ToList();
        await using var db = await DbAsync(call);
        await using var transaction = await db.Database.BeginTransactionAsync(call.Context.RequestAborted);
        await db.LockRowsAsync(RowLocks(call).ForUpdate, "Clusters", "Id", [cluster.Id], call.Context.RequestAborted);
        var instances = await CapacitiesAsync(db, cluster, ids, LaunchTypes.Ec2, call.Context.RequestAborted);
        var tasks = new List<(TaskEntity Task, InstanceCapacity Instance)>();
        var failures = new List<object>();
        foreach (var (id, arn) in ids.Zip(targets))
        {
            if (instances.FirstOrDefault(i => i.Arn.EndsWith("/" + id, StringComparison.Ordinal)) is not { } instance)
            {
                failures.Add(new { arn, reason = "MISSING" });
                continue;
            }

            var demand = request.Plan.Demand(request.Group);
            if (TaskPlacer.Rejection(instance, demand, request.Constraints) is { } reason)
            {
                failures.Add(new { arn = instance.Arn, reason });
                continue;
            }

            instance.RemainingCpu -= demand.Cpu;
            instance.RemainingMemory -= demand.Memory;
            instance.UsedPorts.UnionWith(demand.HostPorts);
            instance.TaskGroups.Add(demand.Group);
            tasks.Add((NewTask(cluster, definition, instance.Id, request, LaunchTypes.Ec2), instance));
        }

        db.Tasks.AddRange(tasks.Select(t => t.Task));
        await db.SaveChangesAsync(call.Context.RequestAborted);
        await transaction.CommitAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        WakeAgents(call, tasks.Select(t => t.Instance.Id));
        return new
        {
            tasks = tasks.Select(t => Describe(new TaskView(t.Task, cluster.Name, definition.Family, definition.Revision, ContainerInstanceId(t.Instance.Arn)))).ToList(),
            failures,
        };
    }

    private async Task<object> StopTaskAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        var taskId = TaskIdOf(call.Required("task"));
        await AuthorizeAsync(call, "ecs:StopTask", TaskArn(cluster.Name, taskId));
        var reason = call.Optional("reason") ?? "Task stopped by user";
        if (reason.Length > 255)
        {
            throw AwsApiException.InvalidParameter("reason must be at most 255 characters");
        }

        await using var db = await DbAsync(call);
        var task = await db.Tasks.FirstOrDefaultAsync(t => t.ClusterId == cluster.Id && t.TaskId == taskId, call.Context.RequestAborted)
                   ?? throw new AwsApiException("InvalidParameterException", "The referenced task was not found.");
        var now = DateTime.UtcNow;
        if (TaskLifecycle.RequestStop(task, reason, StopCodes.UserInitiated, now))
        {
            // A service's task behind a load balancer leaves its target groups before it stops, as in ECS.
            if (ServiceStatuses.ServiceOf(task.Group) is { } service)
            {
                var loadBalancers = await db.Services.Where(s => s.ClusterId == cluster.Id && s.Name == service && s.Status != ServiceStatuses.Inactive)
                    .Select(s => s.LoadBalancers).FirstOrDefaultAsync(call.Context.RequestAborted);
                if (loadBalancers is not null && DrainDelay(ServiceLoadBalancer.ReadAll(loadBalancers)) is var delay && delay > TimeSpan.Zero)
                {
                    TaskLifecycle.Drain(task, now + delay);
                }
            }

            await db.SaveChangesAsync(call.Context.RequestAborted);
            await DurableAsync(call);
            WakeAgents(call, task.ContainerInstanceId is { } instance ? [instance] : []);
            WakeKubernetes(call);
        }

        var view = await TaskViews(db, db.Tasks.Where(t => t.Id == task.Id), cluster.Name).FirstAsync(call.Context.RequestAborted);
        return new { task = Describe(view) };
    }

    private async Task<object> DescribeTasksAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        var requested = call.Strings("tasks", required: true);
        if (requested.Count is 0 or > 100)
        {
            throw AwsApiException.InvalidParameter("tasks must name 1 to 100 tasks");
        }

        var ids = requested.Select(TaskIdOf).ToList();
        foreach (var id in ids.Distinct())
        {
            await AuthorizeAsync(call, "ecs:DescribeTasks", TaskArn(cluster.Name, id));
        }

        await using var db = await DbAsync(call);
        var views = await TaskViews(db, db.Tasks.Where(t => t.ClusterId == cluster.Id && ids.Contains(t.TaskId)), cluster.Name).ToListAsync(call.Context.RequestAborted);
        return new
        {
            tasks = views.Select(Describe).ToList(),
            failures = requested.Where((_, i) => views.All(v => v.Task.TaskId != ids[i])).Select(arn => new { arn, reason = "MISSING" }).ToList(),
        };
    }

    private async Task<object> ListTasksAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:ListTasks", ContainerInstanceArn(cluster.Name, "*"));
        var desired = call.Optional("desiredStatus") ?? "RUNNING";
        if (desired is not ("RUNNING" or "PENDING" or "STOPPED"))
        {
            throw AwsApiException.InvalidParameter("desiredStatus must be RUNNING, PENDING or STOPPED");
        }

        var limit = call.MaxResults(100, 100);
        var after = call.PageAfter();
        await using var db = await DbAsync(call);
        var query = db.Tasks.AsNoTracking().Where(t => t.ClusterId == cluster.Id);
        query = desired == "STOPPED" ? query.Where(t => t.DesiredStatus == TaskStatuses.Stopped) : query.Where(t => t.DesiredStatus == TaskStatuses.Running);
        if (desired == "PENDING")
        {
            query = query.Where(t => t.LastStatus == TaskStatuses.Provisioning || t.LastStatus == TaskStatuses.Pending || t.LastStatus == TaskStatuses.Activating);
        }

        if (call.Optional("containerInstance") is { } instanceReference)
        {
            var instanceId = ContainerInstanceId(instanceReference);
            query = query.Where(t => db.ContainerInstances.Any(i => i.Id == t.ContainerInstanceId && i.InstanceId == instanceId));
        }

        if (call.Optional("launchType") is { } listedLaunchType)
        {
            query = query.Where(t => t.LaunchType == listedLaunchType);
        }

        if (call.Optional("family") is { } family)
        {
            query = query.Where(t => db.TaskDefinitions.Any(d => d.Id == t.TaskDefinitionId && d.Family == family));
        }

        if (call.Optional("serviceName") is { } serviceName)
        {
            var group = Scheduler.Services.ServiceStatuses.Group(ServiceName(serviceName));
            query = query.Where(t => t.Group == group);
        }

        if (call.Optional("startedBy") is { } startedBy)
        {
            query = query.Where(t => t.StartedBy == startedBy);
        }

        if (after is not null)
        {
            query = query.Where(t => string.Compare(t.TaskId, after) > 0);
        }

        var ids = await query.OrderBy(t => t.TaskId).Select(t => t.TaskId).Take(limit + 1).ToListAsync(call.Context.RequestAborted);
        var page = ids.Take(limit).ToList();
        return new { taskArns = page.Select(id => TaskArn(cluster.Name, id)).ToList(), nextToken = ids.Count > limit ? AwsCallExtensions.NextToken(page[^1]) : null };
    }

    /// <summary>The members RunTask and StartTask share: overrides, group, startedBy, constraints (the task definition's too).</summary>
    private static TaskRequest ReadTaskRequest(AwsCall call, TaskDefinitionEntity definition)
    {
        var overrides = Parse(() => TaskOverrides.Read(call.Body.TryGetProperty("overrides", out var o) ? o : null));
        var document = JsonNode.Parse(definition.Document)!.AsObject();
        foreach (var containerOverride in overrides.ContainerOverrides)
        {
            if (!document["containerDefinitions"]!.AsArray().Any(c => (string?)c!["name"] == containerOverride.Name))
            {
                throw AwsApiException.InvalidParameter($"Override for container '{containerOverride.Name}', which the task definition does not have.");
            }
        }

        var group = call.Optional("group") ?? "family:" + definition.Family;
        var startedBy = call.Optional("startedBy");
        if (group.Length > 255 || startedBy?.Length > 128)
        {
            throw AwsApiException.InvalidParameter("group is at most 255 characters and startedBy at most 128");
        }

        // A service's group is the service scheduler's: a task joining it would share the service's load balancer.
        if (ServiceStatuses.ServiceOf(group) is not null)
        {
            throw AwsApiException.InvalidParameter("group 'service:…' is reserved for the tasks of services.");
        }

        var fromDefinition = document["placementConstraints"] is JsonArray definitionConstraints
            ? definitionConstraints.Select(c => ((string?)c!["type"] ?? "", (string?)c["expression"]))
            : [];
        var constraints = Parse(() => call.Array("placementConstraints", required: false).Select(c => (Text(c, "type") ?? "", Text(c, "expression")))
            .Concat(fromDefinition).Select(c => PlacementConstraint.Create(c.Item1, c.Item2)).ToList());
        var plan = TaskPlan.From(document, overrides);
        return new TaskRequest(overrides, plan, group, startedBy, constraints);
    }

    private static TaskEntity NewTask(ClusterEntity cluster, TaskDefinitionEntity definition, long? instanceId, TaskRequest request, string launchType) => new()
    {
        LaunchType = launchType,
        TaskId = Guid.NewGuid().ToString("N"),
        ClusterId = cluster.Id,
        ContainerInstanceId = instanceId,
        TaskDefinitionId = definition.Id,
        Group = request.Group,
        StartedBy = request.StartedBy,
        LastStatus = TaskStatuses.Provisioning,
        DesiredStatus = TaskStatuses.Running,
        Cpu = request.Plan.Cpu,
        Memory = request.Plan.Memory,
        HostPorts = string.Join(',', request.Plan.HostPorts),
        Overrides = request.Overrides.ToJson(),
        Containers = TaskContainer.WriteAll(request.Plan.Containers),
        CreatedAt = DateTime.UtcNow,
        Version = 1,
    };

    /// <summary>The cluster's active instances for the launch type (or the named ones) with what their tasks leave free.</summary>
    private async Task<List<InstanceCapacity>> CapacitiesAsync(RegistryDbContext db, ClusterEntity cluster, IReadOnlyList<string>? only, string launchType, CancellationToken cancellationToken)
    {
        var query = db.ContainerInstances.AsNoTracking().Where(i => i.ClusterId == cluster.Id && i.Status == "ACTIVE");
        if (only is not null)
        {
            query = query.Where(i => only.Contains(i.InstanceId));
        }

        var instances = await query.OrderBy(i => i.Id).ToListAsync(cancellationToken);
        var ids = instances.Select(i => i.Id).ToList();
        var held = await db.Tasks.AsNoTracking().Where(t => t.ContainerInstanceId != null && ids.Contains(t.ContainerInstanceId.Value) && t.LastStatus != TaskStatuses.Stopped)
            .Select(t => new { Instance = t.ContainerInstanceId!.Value, t.Cpu, t.Memory, t.HostPorts, t.Group }).ToListAsync(cancellationToken);
        return instances.Select(i =>
        {
            var mine = held.Where(h => h.Instance == i.Id).ToList();
            var attributes = JsonSerializer.Deserialize<List<InstanceAttribute>>(i.Attributes, InstanceAttribute.Json) ?? [];
            return new InstanceCapacity
            {
                Id = i.Id,
                Arn = ContainerInstanceArn(cluster.Name, i.InstanceId),
                Ec2InstanceId = i.Ec2InstanceId,
                Connected = i.AgentConnected,
                RemainingCpu = i.Cpu - mine.Sum(h => h.Cpu),
                RemainingMemory = i.Memory - mine.Sum(h => h.Memory),
                UsedPorts = [.. ParsePorts(i.ReservedPorts), .. mine.SelectMany(h => ParsePorts(h.HostPorts))],
                Attributes = attributes.GroupBy(a => a.Name).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal),
                TaskGroups = mine.Select(h => h.Group).ToList(),
            };
        }).Where(i => LaunchTypes.IsFargateCapacity(i.Attributes) == (launchType == LaunchTypes.Fargate)).ToList();
    }

    /// <summary>What the tasks on <paramref name="instanceIds"/> hold, per instance.</summary>
    private static async Task<Dictionary<long, InstanceUsage>> InstanceUsageAsync(RegistryDbContext db, IReadOnlyList<long> instanceIds, CancellationToken cancellationToken)
    {
        var held = await db.Tasks.AsNoTracking().Where(t => t.ContainerInstanceId != null && instanceIds.Contains(t.ContainerInstanceId.Value) && t.LastStatus != TaskStatuses.Stopped)
            .Select(t => new { Instance = t.ContainerInstanceId!.Value, t.Cpu, t.Memory, t.HostPorts, t.LastStatus }).ToListAsync(cancellationToken);
        return held.GroupBy(h => h.Instance).ToDictionary(
            g => g.Key,
            g => new InstanceUsage(
                g.Sum(h => h.Cpu),
                g.Sum(h => h.Memory),
                g.Count(h => h.LastStatus == TaskStatuses.Running),
                g.Count(h => TaskStatuses.Rank(h.LastStatus) < TaskStatuses.Rank(TaskStatuses.Running)),
                g.SelectMany(h => ParsePorts(h.HostPorts)).ToList()));
    }

    /// <summary>Tasks with the names their ARNs need.</summary>
    private static IQueryable<TaskView> TaskViews(RegistryDbContext db, IQueryable<TaskEntity> tasks, string clusterName) =>
        from t in tasks
        join d in db.TaskDefinitions on t.TaskDefinitionId equals d.Id
        join i in db.ContainerInstances on t.ContainerInstanceId equals i.Id into placed
        from i in placed.DefaultIfEmpty()
        select new TaskView(t, clusterName, d.Family, d.Revision, i == null ? null : i.InstanceId);

    private object Describe(TaskView view)
    {
        var task = view.Task;
        var taskArn = TaskArn(view.Cluster, task.TaskId);
        var containers = TaskContainer.ReadAll(task.Containers);
        return new
        {
            taskArn,
            clusterArn = ClusterArn(view.Cluster),
            taskDefinitionArn = TaskDefinitionArn(view.Family, view.Revision),
            // A FARGATE task's instance is the scheduler's business, as in ECS.
            containerInstanceArn = view.InstanceId is null || task.LaunchType == LaunchTypes.Fargate ? null : ContainerInstanceArn(view.Cluster, view.InstanceId),
            capacityProviderName = task.LaunchType == LaunchTypes.Fargate ? LaunchTypes.Fargate : null,
            overrides = JsonNode.Parse(task.Overrides),
            lastStatus = task.LastStatus,
            desiredStatus = task.DesiredStatus,
            cpu = task.Cpu.ToString(CultureInfo.InvariantCulture),
            memory = task.Memory.ToString(CultureInfo.InvariantCulture),
            healthStatus = TaskLifecycle.TaskHealth(containers),
            containers = containers.Select(c => new
            {
                containerArn = $"arn:aws:ecs:{Aws.Region}:{Aws.AccountId}:container/{view.Cluster}/{task.TaskId}/{c.Name}",
                taskArn,
                name = c.Name,
                image = c.Image,
                runtimeId = c.RuntimeId,
                lastStatus = c.LastStatus,
                exitCode = c.ExitCode,
                reason = c.Reason,
                networkBindings = c.NetworkBindings.Select(b => new { bindIP = b.BindIP, containerPort = b.ContainerPort, hostPort = b.HostPort, protocol = b.Protocol }).ToList(),
                essential = c.Essential,
                healthStatus = c.HealthStatus,
            }).ToList(),
            startedBy = task.StartedBy,
            group = task.Group,
            version = task.Version,
            stopCode = task.StopCode,
            stoppedReason = task.StoppedReason,
            launchType = task.LaunchType,
            createdAt = AwsCallExtensions.Epoch(task.CreatedAt),
            pullStartedAt = Epoch(task.PullStartedAt),
            pullStoppedAt = Epoch(task.PullStoppedAt),
            startedAt = Epoch(task.StartedAt),
            stoppingAt = Epoch(task.StoppingAt),
            executionStoppedAt = Epoch(task.ExecutionStoppedAt),
            stoppedAt = Epoch(task.StoppedAt),
            attachments = Array.Empty<object>(),
            tags = Array.Empty<object>(),
        };
    }

    private static double? Epoch(DateTime? utc) => utc is { } value ? AwsCallExtensions.Epoch(value) : null;

    private static void RequireActive(TaskDefinitionEntity definition)
    {
        if (definition.Status != "ACTIVE")
        {
            throw new AwsApiException("ClientException", "TaskDefinition is inactive");
        }
    }

    /// <summary>Runs a parse whose errors are the caller's: InvalidParameterException.</summary>
    private static T Parse<T>(Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is PlacementException or ArgumentException)
        {
            throw AwsApiException.InvalidParameter(e.Message);
        }
    }

    private string TaskArn(string cluster, string taskId) => $"arn:aws:ecs:{Aws.Region}:{Aws.AccountId}:task/{cluster}/{taskId}";

    private static string TaskIdOf(string reference) => reference[(reference.LastIndexOf('/') + 1)..];

    private static IRowLocks RowLocks(AwsCall call) => call.Context.RequestServices.GetRequiredService<IRowLocks>();

    private static void WakeAgents(AwsCall call, IEnumerable<long> instanceIds) =>
        call.Context.RequestServices.GetRequiredService<AgentSignals>().Wake(instanceIds);

    private sealed record TaskRequest(TaskOverrides Overrides, TaskPlan Plan, string Group, string? StartedBy, IReadOnlyList<PlacementConstraint> Constraints);
}

/// <summary>A task and the names its ARNs are made of.</summary>
internal sealed record TaskView(TaskEntity Task, string Cluster, string Family, int Revision, string? InstanceId);
