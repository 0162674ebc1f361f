using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Scheduler.Placement;
using Registry.Scheduler.Services;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// One step of the service scheduler for one service: the circuit breaker (fail the primary deployment
/// after too many failed tasks, and roll back to the last completed one if asked), the rolling update
/// (<see cref="RollingUpdate"/>: start primary tasks, stop old, surplus and unhealthy ones), old
/// deployments dropped once their tasks have stopped, and the events ECS would show.
/// </summary>
internal sealed partial class EcsService
{
    /// <summary>Reconciles the service; who has work from it (the agents with tasks to start or stop, the Kubernetes launcher).</summary>
    public async Task<ServiceStep> ReconcileServiceAsync(RegistryDbContext db, IRowLocks locks, long serviceId, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var clusterId = await db.Services.Where(s => s.Id == serviceId).Select(s => s.ClusterId).FirstAsync(cancellationToken);
        await db.LockRowsAsync(locks.ForUpdate, "Clusters", "Id", [clusterId], cancellationToken);
        var service = await db.Services.FirstAsync(s => s.Id == serviceId, cancellationToken);
        if (service.Status == ServiceStatuses.Inactive)
        {
            return new ServiceStep([], false);
        }

        var cluster = await db.Clusters.AsNoTracking().FirstAsync(c => c.Id == clusterId, cancellationToken);
        var now = DateTime.UtcNow;
        var deployments = ServiceDeployment.ReadAll(service.Deployments);
        var ids = deployments.Select(d => d.Id).ToList();
        var group = ServiceStatuses.Group(service.Name);
        var live = await db.Tasks.Where(t => t.ClusterId == clusterId && t.Group == group && ids.Contains(t.StartedBy!) && t.LastStatus != TaskStatuses.Stopped).ToListAsync(cancellationToken);
        var definitionIds = deployments.Select(d => d.TaskDefinitionId).Distinct().ToList();
        var definitions = await db.TaskDefinitions.AsNoTracking().Where(d => definitionIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, cancellationToken);
        var events = service.Events;
        void Event(string message) => events = ServiceEvent.Add(events, $"(service {service.Name}) {message}", now);

        var primary = deployments[0];
        if (service.CircuitBreakerEnabled && primary.RolloutState == ServiceStatuses.InProgress)
        {
            var failed = await db.Tasks.CountAsync(t => t.ClusterId == clusterId && t.StartedBy == primary.Id && t.LastStatus == TaskStatuses.Stopped
                && (t.StopCode == StopCodes.TaskFailedToStart || t.StopCode == StopCodes.EssentialContainerExited), cancellationToken);
            if (failed >= RollingUpdate.FailureThreshold(service.DesiredCount))
            {
                primary = primary with { RolloutState = ServiceStatuses.Failed, RolloutStateReason = "ECS deployment circuit breaker: tasks failed to start.", UpdatedAt = now };
                deployments[0] = primary;
                Event($"deployment {primary.Id} deployment failed: tasks failed to start.");
                if (service.CircuitBreakerRollback && !primary.Rollback && deployments.Skip(1).FirstOrDefault(d => d.RolloutState == ServiceStatuses.Completed) is { } good)
                {
                    var rollback = new ServiceDeployment(ServiceDeployment.NewId(), good.TaskDefinitionId, ServiceStatuses.Primary, ServiceStatuses.InProgress,
                        $"ECS deployment circuit breaker: rolling back to deploymentId {good.Id}.", now, now, Rollback: true);
                    deployments.Insert(0, rollback);
                    deployments[1] = primary with { Status = "ACTIVE" };
                    primary = rollback;
                    service.TaskDefinitionId = good.TaskDefinitionId;
                    Event($"rolling back to deployment {good.Id}.");
                }
            }
        }

        var draining = service.Status == ServiceStatuses.Draining;
        // Only groups this balancer has can judge a task: one dropped from the configuration does not hold the service up.
        var loadBalancers = ServiceLoadBalancer.ReadAll(service.LoadBalancers).Where(lb => targetGroups.ByName.ContainsKey(lb.TargetGroup)).ToList();
        var grace = TimeSpan.FromSeconds(service.HealthCheckGracePeriodSeconds);
        var checks = definitions.ToDictionary(d => d.Key, d => CheckedContainers(d.Value));
        var states = live.Where(t => t.DesiredStatus == TaskStatuses.Running)
            .ToDictionary(t => t.TaskId, t => StateOf(t, checks.GetValueOrDefault(t.TaskDefinitionId) ?? [], loadBalancers.Count > 0, grace, now));
        var serving = live.Where(t => t.DesiredStatus == TaskStatuses.Running)
            .Select(t => new ServiceTask(t.TaskId, t.StartedBy!, states[t.TaskId].State, t.CreatedAt)).ToList();
        // On Kubernetes the service's Deployment starts and stops the Pods (KubernetesLauncher applies it):
        // here only the bookkeeping runs, from the tasks its Pods have become.
        var step = service.LaunchType == LaunchTypes.Kubernetes
            ? new RollingStep(0, [])
            : RollingUpdate.Next(
                new DeploymentLimits(draining ? 0 : service.DesiredCount, service.MinimumHealthyPercent, service.MaximumPercent),
                primary.Id,
                serving,
                canStart: !draining && primary.RolloutState != ServiceStatuses.Failed);

        // Tasks that keep failing are started ever more slowly, as ECS throttles them.
        if (step.Start > 0)
        {
            var recentFailures = await db.Tasks.CountAsync(t => t.ClusterId == clusterId && t.Group == group && t.StoppedAt > now.AddMinutes(-15)
                && (t.StopCode == StopCodes.TaskFailedToStart || t.StopCode == StopCodes.EssentialContainerExited), cancellationToken);
            var lastStart = await db.Tasks.Where(t => t.ClusterId == clusterId && t.Group == group).MaxAsync(t => (DateTime?)t.CreatedAt, cancellationToken);
            if (lastStart is { } last && now - last < RollingUpdate.RestartDelay(recentFailures))
            {
                Event("is unable to consistently start tasks successfully.");
                step = step with { Start = 0 };
            }
        }

        var wake = new List<long>();
        var stopped = live.Where(t => step.Stop.Contains(t.TaskId)).ToList();
        var drainUntil = now + DrainDelay(loadBalancers);
        foreach (var task in stopped)
        {
            TaskLifecycle.RequestStop(task, states[task.TaskId].Reason ?? $"Scaling activity initiated by (deployment {task.StartedBy})", StopCodes.ServiceSchedulerInitiated, now);
            if (loadBalancers.Count > 0 && drainUntil > now)
            {
                TaskLifecycle.Drain(task, drainUntil);
            }

            wake.AddRange(task.ContainerInstanceId is { } instance ? [instance] : []);
        }

        // Drained tasks have had their deregistration delay: now their agents stop them.
        var drained = live.Where(t => t.DrainingUntil <= now).ToList();
        foreach (var task in drained)
        {
            TaskLifecycle.EndDrain(task);
            wake.AddRange(task.ContainerInstanceId is { } instance ? [instance] : []);
        }

        if (stopped.Count > 0)
        {
            Event($"has stopped {stopped.Count} running tasks: {string.Join(' ', stopped.Select(t => $"(task {t.TaskId})"))}.");
        }

        var started = step.Start > 0 ? await StartServiceTasksAsync(db, cluster, service, definitions[primary.TaskDefinitionId], primary, step.Start, Event, cancellationToken) : [];
        wake.AddRange(started.Select(t => t.ContainerInstanceId!.Value));

        // The primary completes at its desired count once no older deployment has a task left. An old
        // deployment goes once its last task has stopped, except while the primary still rolls out: then
        // failed ones stay in view and the last completed one stays for the circuit breaker to roll back to.
        var remaining = live.Select(t => t.StartedBy).ToHashSet(StringComparer.Ordinal);
        var steady = stopped.Count == 0 && started.Count == 0 && deployments.Skip(1).All(d => !remaining.Contains(d.Id))
            && serving.Count(t => t.Serving && t.DeploymentId == primary.Id) == (draining ? 0 : service.DesiredCount);
        if (steady && primary.RolloutState == ServiceStatuses.InProgress)
        {
            primary = primary with { RolloutState = ServiceStatuses.Completed, RolloutStateReason = "ECS deployment " + primary.Id + " completed.", UpdatedAt = now };
            deployments[0] = primary;
            Event($"deployment {primary.Id} has completed.");
        }

        var lastCompleted = deployments.Skip(1).FirstOrDefault(d => d.RolloutState == ServiceStatuses.Completed);
        deployments = [deployments[0], .. deployments.Skip(1).Where(d => remaining.Contains(d.Id)
            || (primary.RolloutState == ServiceStatuses.InProgress && (d.RolloutState == ServiceStatuses.Failed || d == lastCompleted)))];

        if (draining && live.Count == 0)
        {
            service.Status = ServiceStatuses.Inactive;
        }
        else if (steady)
        {
            Event("has reached a steady state.");
        }

        var written = ServiceDeployment.WriteAll(deployments);
        var changed = written != service.Deployments || events != service.Events || stopped.Count > 0 || started.Count > 0 || drained.Count > 0 || service.Status == ServiceStatuses.Inactive;
        if (changed)
        {
            service.Deployments = written;
            service.Events = events;
            service.Version++;
            await db.SaveChangesAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        // A rollback or the end of a delete changes what the service's Deployment should be.
        return new ServiceStep(wake, changed && service.LaunchType == LaunchTypes.Kubernetes);
    }

    /// <summary>Places <paramref name="count"/> tasks of the deployment with the service's placement; a shortfall becomes an event.</summary>
    private async Task<List<TaskEntity>> StartServiceTasksAsync(
        RegistryDbContext db, ClusterEntity cluster, ServiceEntity service, TaskDefinitionEntity definition, ServiceDeployment deployment, int count, Action<string> addEvent, CancellationToken cancellationToken)
    {
        var document = JsonNode.Parse(definition.Document)!.AsObject();
        var strategies = JsonSerializer.Deserialize<List<JsonElement>>(service.PlacementStrategy)!.Select(s => PlacementStrategy.Create(Text(s, "type") ?? "", Text(s, "field"))).ToList();
        var fromDefinition = document["placementConstraints"] is JsonArray definitionConstraints ? definitionConstraints.Select(c => ((string?)c!["type"] ?? "", (string?)c["expression"])) : [];
        var constraints = JsonSerializer.Deserialize<List<JsonElement>>(service.PlacementConstraints)!.Select(c => (Text(c, "type") ?? "", Text(c, "expression")))
            .Concat(fromDefinition).Select(c => PlacementConstraint.Create(c.Item1, c.Item2)).ToList();
        var overrides = TaskOverrides.Read(null);
        var request = new TaskRequest(overrides, TaskPlan.From(document, overrides), ServiceStatuses.Group(service.Name), deployment.Id, constraints);
        var instances = await CapacitiesAsync(db, cluster, null, service.LaunchType, cancellationToken);
        var placement = TaskPlacer.Place(instances, request.Plan.Demand(request.Group), count, strategies, request.Constraints, Random.Shared);
        var tasks = placement.Placed.Select(instance => NewTask(cluster, definition, instance.Id, request, service.LaunchType)).ToList();
        db.Tasks.AddRange(tasks);
        if (tasks.Count > 0)
        {
            addEvent($"has started {tasks.Count} tasks: {string.Join(' ', tasks.Select(t => $"(task {t.TaskId})"))}.");
        }

        if (tasks.Count < count)
        {
            addEvent(instances.Count == 0
                ? $"was unable to place a task because no container instance met all of its requirements. Reason: {NoCapacity(service.LaunchType)}"
                : $"was unable to place a task because no container instance met all of its requirements. Reason: {string.Join(", ", placement.Failures.Select(f => f.Reason).Distinct())}.");
        }

        return tasks;
    }

    /// <summary>
    /// Serving once RUNNING, with all its essential containers' health checks HEALTHY and, behind a load
    /// balancer, its targets healthy; Unhealthy (and why, for its stoppedReason) as soon as a container
    /// check fails, or when the balancer finds it unhealthy after the grace period.
    /// </summary>
    private static (ServiceTaskState State, string? Reason) StateOf(TaskEntity task, HashSet<string> checkedContainers, bool loadBalanced, TimeSpan grace, DateTime now)
    {
        var containers = TaskContainer.ReadAll(task.Containers).Where(c => checkedContainers.Contains(c.Name)).ToList();
        if (containers.Any(c => c.HealthStatus == "UNHEALTHY"))
        {
            return (ServiceTaskState.Unhealthy, "Task failed container health checks");
        }

        if (loadBalanced && task.TargetHealth == "unhealthy" && task.StartedAt is { } started && now - started >= grace)
        {
            return (ServiceTaskState.Unhealthy, "Task failed ELB health checks");
        }

        return task.LastStatus == TaskStatuses.Running && containers.All(c => c.HealthStatus == "HEALTHY") && (!loadBalanced || task.TargetHealth == "healthy")
            ? (ServiceTaskState.Serving, null)
            : (ServiceTaskState.Starting, null);
    }

    /// <summary>The essential containers of the task definition that have a health check.</summary>
    private static HashSet<string> CheckedContainers(TaskDefinitionEntity definition) =>
        (JsonNode.Parse(definition.Document)?["containerDefinitions"] as JsonArray ?? [])
            .Where(c => c?["healthCheck"] is JsonObject && (bool?)c["essential"] != false)
            .Select(c => (string)c!["name"]!)
            .ToHashSet(StringComparer.Ordinal);
}

/// <summary>Who has work after a step of the service scheduler: agents with tasks to start or stop, and whether the Kubernetes launcher has.</summary>
internal sealed record ServiceStep(IReadOnlyList<long> Agents, bool Kubernetes);
