using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Registry.AwsApi;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Scheduler.Placement;
using Registry.Scheduler.Services;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// Services: CreateService, UpdateService, DeleteService, DescribeServices and ListServices as ECS has
/// them. These calls only record what is wanted (desired count, deployments); the
/// <see cref="ServiceScheduler"/> starts and stops the tasks that get the service there.
/// </summary>
internal sealed partial class EcsService
{
    private const int DefaultMaximumPercent = 200;
    private const int DefaultMinimumHealthyPercent = 100;

    /// <summary>ECS's quota of tasks per service.</summary>
    private const int MaximumDesiredCount = 5000;

    private async Task<object> CreateServiceAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        var name = call.Required("serviceName");
        if (!ServiceNamePattern().IsMatch(name))
        {
            throw AwsApiException.InvalidParameter("Service name can have up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.");
        }

        await AuthorizeAsync(call, "ecs:CreateService", ServiceArn(cluster.Name, name));
        var definition = await FindTaskDefinitionAsync(call, call.Required("taskDefinition"), activeOnly: false);
        RequireActive(definition);
        await RequireAssumableRolesAsync(call, definition);
        var launchType = ReadLaunchType(call, definition);
        var loadBalancers = ReadLoadBalancers(call) ?? [];
        RequireLoadBalancersFit(loadBalancers, definition);

        if (call.Optional("schedulingStrategy") is { } strategy && strategy != "REPLICA")
        {
            throw AwsApiException.InvalidParameter($"schedulingStrategy {strategy} is not available here: REPLICA.");
        }

        if (call.Body.TryGetProperty("deploymentController", out var controller) && controller.ValueKind != JsonValueKind.Null
            && (controller.ValueKind != JsonValueKind.Object || Text(controller, "type") is not (null or "ECS")))
        {
            throw AwsApiException.InvalidParameter("deploymentController is not available here: ECS (rolling updates).");
        }

        var desired = DesiredCount(call) ?? throw AwsApiException.InvalidParameter("desiredCount is required");
        var (maximum, minimum, breaker, rollback) = ReadDeploymentConfiguration(call, DefaultMaximumPercent, DefaultMinimumHealthyPercent, false, false);
        RequireKubernetesFit(launchType, loadBalancers.Count > 0 || call.Array("placementStrategy", required: false).Count > 0 || call.Array("placementConstraints", required: false).Count > 0, minimum, maximum);
        var strategies = call.Array("placementStrategy", required: false);
        var constraints = call.Array("placementConstraints", required: false);
        _ = Parse(() => strategies.Select(s => PlacementStrategy.Create(Text(s, "type") ?? "", Text(s, "field"))).ToList());
        _ = Parse(() => constraints.Select(c => PlacementConstraint.Create(Text(c, "type") ?? "", Text(c, "expression"))).ToList());

        var now = DateTime.UtcNow;
        var deployment = new ServiceDeployment(ServiceDeployment.NewId(), definition.Id, ServiceStatuses.Primary, ServiceStatuses.InProgress, "ECS deployment in progress.", now, now);
        await using var db = await DbAsync(call);
        await using var transaction = await db.Database.BeginTransactionAsync(call.Context.RequestAborted);
        await db.LockRowsAsync(RowLocks(call).ForUpdate, "Clusters", "Id", [cluster.Id], call.Context.RequestAborted);
        if (!await db.Clusters.AnyAsync(c => c.Id == cluster.Id && c.Status == "ACTIVE", call.Context.RequestAborted))
        {
            throw ClusterNotFound();
        }

        if (await db.Services.AnyAsync(s => s.ClusterId == cluster.Id && s.Name == name && s.Status != ServiceStatuses.Inactive, call.Context.RequestAborted))
        {
            throw AwsApiException.InvalidParameter("Creation of service was not idempotent.");
        }

        var service = new ServiceEntity
        {
            ClusterId = cluster.Id,
            Name = name,
            Status = ServiceStatuses.Active,
            TaskDefinitionId = definition.Id,
            DesiredCount = desired,
            LaunchType = launchType,
            MaximumPercent = maximum,
            MinimumHealthyPercent = minimum,
            CircuitBreakerEnabled = breaker,
            CircuitBreakerRollback = rollback,
            PlacementStrategy = JsonSerializer.Serialize(strategies),
            PlacementConstraints = JsonSerializer.Serialize(constraints),
            LoadBalancers = ServiceLoadBalancer.WriteAll(loadBalancers),
            HealthCheckGracePeriodSeconds = NonNegative(call.Body, "healthCheckGracePeriodSeconds") ?? 0,
            Deployments = ServiceDeployment.WriteAll([deployment]),
            Events = "[]",
            CreatedBy = Aws.CallerArn(call.User.Identity!.Name!),
            CreatedAt = now,
            Version = 1,
        };
        db.Services.Add(service);
        return await CommitAsync(call, db, transaction, service, cluster.Name);
    }

    private async Task<object> UpdateServiceAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        var name = ServiceName(call.Required("service"));
        await AuthorizeAsync(call, "ecs:UpdateService", ServiceArn(cluster.Name, name));
        var definition = call.Optional("taskDefinition") is { } reference ? await FindTaskDefinitionAsync(call, reference, activeOnly: false) : null;
        if (definition is not null)
        {
            RequireActive(definition);
            await RequireAssumableRolesAsync(call, definition);
        }

        var desired = DesiredCount(call);
        var strategies = call.Body.TryGetProperty("placementStrategy", out _) ? call.Array("placementStrategy", required: false) : null;
        var constraints = call.Body.TryGetProperty("placementConstraints", out _) ? call.Array("placementConstraints", required: false) : null;
        _ = Parse(() => (strategies ?? []).Select(s => PlacementStrategy.Create(Text(s, "type") ?? "", Text(s, "field"))).ToList());
        _ = Parse(() => (constraints ?? []).Select(c => PlacementConstraint.Create(Text(c, "type") ?? "", Text(c, "expression"))).ToList());
        var loadBalancers = ReadLoadBalancers(call);

        await using var db = await DbAsync(call);
        await using var transaction = await db.Database.BeginTransactionAsync(call.Context.RequestAborted);
        var service = await LockActiveServiceAsync(call, db, cluster, name);

        (service.MaximumPercent, service.MinimumHealthyPercent, service.CircuitBreakerEnabled, service.CircuitBreakerRollback) =
            ReadDeploymentConfiguration(call, service.MaximumPercent, service.MinimumHealthyPercent, service.CircuitBreakerEnabled, service.CircuitBreakerRollback);
        service.DesiredCount = desired ?? service.DesiredCount;
        service.PlacementStrategy = strategies is null ? service.PlacementStrategy : JsonSerializer.Serialize(strategies);
        service.PlacementConstraints = constraints is null ? service.PlacementConstraints : JsonSerializer.Serialize(constraints);
        service.LoadBalancers = loadBalancers is null ? service.LoadBalancers : ServiceLoadBalancer.WriteAll(loadBalancers);
        service.HealthCheckGracePeriodSeconds = NonNegative(call.Body, "healthCheckGracePeriodSeconds") ?? service.HealthCheckGracePeriodSeconds;
        if (definition is not null)
        {
            RequireCompatible(definition, service.LaunchType);
        }

        RequireKubernetesFit(service.LaunchType, loadBalancers is { Count: > 0 } || strategies is { Count: > 0 } || constraints is { Count: > 0 }, service.MinimumHealthyPercent, service.MaximumPercent);

        if (definition is not null || loadBalancers is not null)
        {
            RequireLoadBalancersFit(ServiceLoadBalancer.ReadAll(service.LoadBalancers), definition ?? await db.TaskDefinitions.FirstAsync(d => d.Id == service.TaskDefinitionId, call.Context.RequestAborted));
        }

        if ((definition is not null && definition.Id != service.TaskDefinitionId) || call.OptionalBool("forceNewDeployment") == true)
        {
            var now = DateTime.UtcNow;
            var deployments = ServiceDeployment.ReadAll(service.Deployments);
            var next = new ServiceDeployment(ServiceDeployment.NewId(), definition?.Id ?? service.TaskDefinitionId, ServiceStatuses.Primary, ServiceStatuses.InProgress, "ECS deployment in progress.", now, now);
            service.TaskDefinitionId = next.TaskDefinitionId;
            service.Deployments = ServiceDeployment.WriteAll([next, .. deployments.Select(d => d with { Status = "ACTIVE", UpdatedAt = now })]);
        }

        service.Version++;
        return await CommitAsync(call, db, transaction, service, cluster.Name);
    }

    private async Task<object> DeleteServiceAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        var name = ServiceName(call.Required("service"));
        await AuthorizeAsync(call, "ecs:DeleteService", ServiceArn(cluster.Name, name));
        await using var db = await DbAsync(call);
        await using var transaction = await db.Database.BeginTransactionAsync(call.Context.RequestAborted);
        var service = await LockActiveServiceAsync(call, db, cluster, name);

        if (service.DesiredCount > 0 && call.OptionalBool("force") != true)
        {
            throw AwsApiException.InvalidParameter("The service cannot be stopped while it is scaled above 0.");
        }

        service.Status = ServiceStatuses.Draining;
        service.DesiredCount = 0;
        service.Version++;
        return await CommitAsync(call, db, transaction, service, cluster.Name);
    }

    private async Task<object> DescribeServicesAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        var requested = call.Strings("services", required: true);
        if (requested.Count is 0 or > 10)
        {
            throw AwsApiException.InvalidParameter("services must name 1 to 10 services");
        }

        var names = requested.Select(ServiceName).ToList();
        foreach (var name in names.Distinct())
        {
            await AuthorizeAsync(call, "ecs:DescribeServices", ServiceArn(cluster.Name, name));
        }

        await using var db = await DbAsync(call);
        var found = await db.Services.AsNoTracking().Where(s => s.ClusterId == cluster.Id && names.Contains(s.Name)).ToListAsync(call.Context.RequestAborted);
        var services = new List<object>();
        var failures = new List<object>();
        foreach (var (name, reference) in names.Zip(requested))
        {
            // The live one, else the newest deleted one, as ECS describes a name.
            if (found.Where(s => s.Name == name).OrderBy(s => s.Status == ServiceStatuses.Inactive).ThenByDescending(s => s.Id).FirstOrDefault() is { } service)
            {
                services.Add(await DescribeAsync(db, service, cluster.Name, call.Context.RequestAborted));
            }
            else
            {
                failures.Add(new { arn = reference.StartsWith("arn:", StringComparison.Ordinal) ? reference : ServiceArn(cluster.Name, name), reason = "MISSING" });
            }
        }

        return new { services, failures };
    }

    private async Task<object> ListServicesAsync(AwsCall call)
    {
        var cluster = await ActiveClusterAsync(call, call.Optional("cluster") ?? "default");
        await AuthorizeAsync(call, "ecs:ListServices", ServiceArn(cluster.Name, "*"));

        var limit = call.MaxResults(100, 10);
        var after = call.PageAfter();
        await using var db = await DbAsync(call);
        var query = db.Services.AsNoTracking().Where(s => s.ClusterId == cluster.Id && s.Status != ServiceStatuses.Inactive);
        if (call.Optional("launchType") is { } launchType)
        {
            query = query.Where(s => s.LaunchType == launchType);
        }

        if (after is not null)
        {
            query = query.Where(s => string.Compare(s.Name, after) > 0);
        }

        var names = await query.OrderBy(s => s.Name).Select(s => s.Name).Take(limit + 1).ToListAsync(call.Context.RequestAborted);
        var page = names.Take(limit).ToList();
        return new { serviceArns = page.Select(n => ServiceArn(cluster.Name, n)).ToList(), nextToken = names.Count > limit ? AwsCallExtensions.NextToken(page[^1]) : null };
    }

    /// <summary>Commits a service change durably, asks the scheduler to act on it, and describes the service.</summary>
    private async Task<object> CommitAsync(AwsCall call, RegistryDbContext db, Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction transaction, ServiceEntity service, string clusterName)
    {
        await db.SaveChangesAsync(call.Context.RequestAborted);
        await transaction.CommitAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        WakeServiceScheduler(call);
        WakeKubernetes(call);
        return new { service = await DescribeAsync(db, service, clusterName, call.Context.RequestAborted) };
    }

    /// <summary>The ACTIVE service, found under its cluster's row lock (in the caller's transaction), as Update and Delete change it.</summary>
    private static async Task<ServiceEntity> LockActiveServiceAsync(AwsCall call, RegistryDbContext db, ClusterEntity cluster, string name)
    {
        await db.LockRowsAsync(RowLocks(call).ForUpdate, "Clusters", "Id", [cluster.Id], call.Context.RequestAborted);
        var service = await FindServiceAsync(db, cluster, name, call.Context.RequestAborted);
        return service.Status == ServiceStatuses.Active ? service : throw new AwsApiException("ServiceNotActiveException", "Service was not ACTIVE.");
    }

    private static async Task<ServiceEntity> FindServiceAsync(RegistryDbContext db, ClusterEntity cluster, string name, CancellationToken cancellationToken) =>
        await db.Services.Where(s => s.ClusterId == cluster.Id && s.Name == name).OrderBy(s => s.Status == ServiceStatuses.Inactive).ThenByDescending(s => s.Id).FirstOrDefaultAsync(cancellationToken)
        ?? throw new AwsApiException("ServiceNotFoundException", "Service not found.");

    /// <summary>A service as ECS describes it, with its deployments' task counts.</summary>
    private async Task<object> DescribeAsync(RegistryDbContext db, ServiceEntity service, string clusterName, CancellationToken cancellationToken)
    {
        var deployments = ServiceDeployment.ReadAll(service.Deployments);
        var ids = deployments.Select(d => d.Id).ToList();
        var group = ServiceStatuses.Group(service.Name);
        var tasks = await db.Tasks.AsNoTracking().Where(t => t.ClusterId == service.ClusterId && t.Group == group && ids.Contains(t.StartedBy!) && t.DesiredStatus == TaskStatuses.Running)
            .Select(t => new { t.StartedBy, t.LastStatus }).ToListAsync(cancellationToken);
        var failed = await db.Tasks.AsNoTracking()
            .Where(t => t.ClusterId == service.ClusterId && t.Group == group && ids.Contains(t.StartedBy!) && t.LastStatus == TaskStatuses.Stopped
                && (t.StopCode == StopCodes.TaskFailedToStart || t.StopCode == StopCodes.EssentialContainerExited))
            .GroupBy(t => t.StartedBy!).Select(g => new { Deployment = g.Key, Count = g.Count() }).ToDictionaryAsync(g => g.Deployment, g => g.Count, cancellationToken);
        var definitionIds = deployments.Select(d => d.TaskDefinitionId).Append(service.TaskDefinitionId).Distinct().ToList();
        var definitions = await db.TaskDefinitions.AsNoTracking().Where(d => definitionIds.Contains(d.Id)).ToDictionaryAsync(d => d.Id, d => TaskDefinitionArn(d.Family, d.Revision), cancellationToken);
        int Running(string? deployment) => tasks.Count(t => (deployment is null || t.StartedBy == deployment) && t.LastStatus == TaskStatuses.Running);
        int Pending(string? deployment) => tasks.Count(t => (deployment is null || t.StartedBy == deployment) && TaskStatuses.Rank(t.LastStatus) < TaskStatuses.Rank(TaskStatuses.Running));
        var serviceArn = ServiceArn(clusterName, service.Name);
        return new
        {
            serviceArn,
            serviceName = service.Name,
            clusterArn = ClusterArn(clusterName),
            loadBalancers = DescribeLoadBalancers(service.LoadBalancers),
            healthCheckGracePeriodSeconds = service.HealthCheckGracePeriodSeconds,
            serviceRegistries = Array.Empty<object>(),
            status = service.Status,
            desiredCount = service.DesiredCount,
            runningCount = Running(null),
            pendingCount = Pending(null),
            launchType = service.LaunchType,
            taskDefinition = definitions[service.TaskDefinitionId],
            deploymentConfiguration = new
            {
                deploymentCircuitBreaker = new { enable = service.CircuitBreakerEnabled, rollback = service.CircuitBreakerRollback },
                maximumPercent = service.MaximumPercent,
                minimumHealthyPercent = service.MinimumHealthyPercent,
            },
            deployments = deployments.Select((d, i) => new
            {
                id = d.Id,
                status = d.Status,
                taskDefinition = definitions[d.TaskDefinitionId],
                desiredCount = i == 0 ? service.DesiredCount : 0,
                pendingCount = Pending(d.Id),
                runningCount = Running(d.Id),
                failedTasks = failed.GetValueOrDefault(d.Id),
                createdAt = AwsCallExtensions.Epoch(d.CreatedAt),
                updatedAt = AwsCallExtensions.Epoch(d.UpdatedAt),
                launchType = service.LaunchType,
                rolloutState = d.RolloutState,
                rolloutStateReason = d.RolloutStateReason,
            }).ToList(),
            events = ServiceEvent.ReadAll(service.Events).Select(e => new { id = e.Id, createdAt = AwsCallExtensions.Epoch(e.CreatedAt), message = e.Message }).ToList(),
            createdAt = AwsCallExtensions.Epoch(service.CreatedAt),
            placementConstraints = JsonNode.Parse(service.PlacementConstraints),
            placementStrategy = JsonNode.Parse(service.PlacementStrategy),
            schedulingStrategy = "REPLICA",
            createdBy = service.CreatedBy,
            enableECSManagedTags = false,
            propagateTags = "NONE",
            enableExecuteCommand = false,
        };
    }

    /// <summary>deploymentConfiguration: maximumPercent 100–2000 above minimumHealthyPercent 0–100, and the circuit breaker.</summary>
    private static (int Maximum, int Minimum, bool Breaker, bool Rollback) ReadDeploymentConfiguration(AwsCall call, int maximum, int minimum, bool breaker, bool rollback)
    {
        if (!call.Body.TryGetProperty("deploymentConfiguration", out var configuration) || configuration.ValueKind == JsonValueKind.Null)
        {
            return (maximum, minimum, breaker, rollback);
        }

        if (configuration.ValueKind != JsonValueKind.Object)
        {
            throw AwsApiException.InvalidParameter("deploymentConfiguration must be an object");
        }

        maximum = NonNegative(configuration, "maximumPercent") ?? maximum;
        minimum = NonNegative(configuration, "minimumHealthyPercent") ?? minimum;
        if (maximum is < 100 or > 2000 || minimum > 100)
        {
            throw AwsApiException.InvalidParameter("maximumPercent must be from 100 to 2000 and minimumHealthyPercent from 0 to 100");
        }

        if (configuration.TryGetProperty("deploymentCircuitBreaker", out var circuit) && circuit.ValueKind != JsonValueKind.Null)
        {
            if (circuit.ValueKind != JsonValueKind.Object || !circuit.TryGetProperty("enable", out var enable) || !circuit.TryGetProperty("rollback", out var back)
                || enable.ValueKind is not (JsonValueKind.True or JsonValueKind.False) || back.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                throw AwsApiException.InvalidParameter("deploymentCircuitBreaker needs enable and rollback, both booleans");
            }

            (breaker, rollback) = (enable.GetBoolean(), back.GetBoolean());
        }

        return (maximum, minimum, breaker, rollback);
    }

    private static int? DesiredCount(AwsCall call) => NonNegative(call.Body, "desiredCount") switch
    {
        > MaximumDesiredCount => throw AwsApiException.InvalidParameter($"desiredCount must be at most {MaximumDesiredCount}"),
        var count => count,
    };

    /// <summary>A non-negative integer member, or null when absent.</summary>
    private static int? NonNegative(JsonElement body, string name) =>
        !body.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 0 ? n
        : throw AwsApiException.InvalidParameter($"{name} must be a non-negative integer");

    private string ServiceArn(string cluster, string name) => $"arn:aws:ecs:{Aws.Region}:{Aws.AccountId}:service/{cluster}/{name}";

    /// <summary>A service named by name or ARN (<c>service/&lt;cluster&gt;/&lt;name&gt;</c>, or the older <c>service/&lt;name&gt;</c>).</summary>
    private static string ServiceName(string reference) => reference[(reference.LastIndexOf('/') + 1)..];

    private static void WakeServiceScheduler(AwsCall call) => call.Context.RequestServices.GetRequiredService<ServiceScheduler>().Wake();

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,255}$")]
    private static partial Regex ServiceNamePattern();
}
