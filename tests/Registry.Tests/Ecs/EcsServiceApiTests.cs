using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Ecs;
using Registry.Tests.Support;

namespace Registry.Tests.Ecs;

/// <summary>
/// ECS services in process: the API, and the service scheduler's passes (run here one at a time) driving
/// tasks that a fake agent reports on through the same API an agent uses. Run against each metadata database.
/// </summary>
public abstract class EcsServiceApiTests(RegistryFixture registry) : IAsyncLifetime
{
    private static readonly string[] NoPorts = [];
    private static readonly string[] ServiceNames = ["a", "b", "c"];
    private static readonly string[] OneKnownOneNot = ["a", "nope"];
    private static readonly string[] AlwaysHealthy = ["CMD-SHELL", "true"];

    private AwsJsonTestClient _ecs = null!;
    private string _cluster = null!;

    public async Task InitializeAsync()
    {
        var session = await EcsTestSession.StartAsync(registry, "services-");
        (_ecs, _cluster) = (session.Ecs, session.Cluster);
        await session.RegisterInstanceAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [SkippableFact]
    public async Task A_service_starts_its_tasks_reaches_a_steady_state_and_replaces_a_task_that_exits()
    {
        var family = await RegisterAsync("v1");
        var (status, created) = await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "web", taskDefinition = family, desiredCount = 2 });
        Assert.True(status == 200, created.ToString());
        var deployment = created.GetProperty("service").GetProperty("deployments")[0];
        Assert.Equal("PRIMARY", deployment.GetProperty("status").GetString());
        Assert.Equal("IN_PROGRESS", deployment.GetProperty("rolloutState").GetString());
        var deploymentId = deployment.GetProperty("id").GetString()!;
        Assert.Matches("^ecs-svc/[0-9]{19}$", deploymentId);

        await PassAsync();
        var tasks = await ServiceTasksAsync("RUNNING");
        Assert.Equal(2, tasks.Count);
        Assert.All(tasks, t => Assert.Equal(deploymentId, t.GetProperty("startedBy").GetString()));
        Assert.All(tasks, t => Assert.Equal("service:web", t.GetProperty("group").GetString()));
        var service = await DescribeServiceAsync("web");
        Assert.Equal(2, service.GetProperty("pendingCount").GetInt32());
        Assert.Contains(Events(service), e => e.StartsWith("(service web) has started 2 tasks: (task ", StringComparison.Ordinal));

        foreach (var task in tasks)
        {
            await ReportAsync(task, "RUNNING");
        }

        await PassAsync();
        service = await DescribeServiceAsync("web");
        Assert.Equal(2, service.GetProperty("runningCount").GetInt32());
        Assert.Equal("COMPLETED", service.GetProperty("deployments")[0].GetProperty("rolloutState").GetString());
        Assert.Equal("(service web) has reached a steady state.", Events(service)[0]);

        var cluster = (await _ecs.CallAsync("DescribeClusters", new { clusters = new[] { _cluster } })).Body.GetProperty("clusters")[0];
        Assert.Equal(1, cluster.GetProperty("registeredContainerInstancesCount").GetInt32());
        Assert.Equal(2, cluster.GetProperty("runningTasksCount").GetInt32());
        Assert.Equal(1, cluster.GetProperty("activeServicesCount").GetInt32());

        await ReportAsync(tasks[0], "STOPPED", exitCode: 1);
        await PassAsync();
        var now = await ServiceTasksAsync("RUNNING");
        Assert.Equal(2, now.Count);
        Assert.DoesNotContain(now, t => t.GetProperty("taskArn").GetString() == tasks[0].GetProperty("taskArn").GetString());
    }

    [SkippableFact]
    public async Task A_task_whose_checked_container_turns_unhealthy_is_replaced()
    {
        var family = "hc-" + Guid.NewGuid().ToString("N")[..8];
        var (registered, body) = await _ecs.CallAsync("RegisterTaskDefinition", new
        {
            family,
            containerDefinitions = new object[]
            {
                new { name = "web", image = "localhost/team/web:1", memory = 64, healthCheck = new { command = AlwaysHealthy } },
                new { name = "sidecar", image = "localhost/team/sidecar:1", memory = 32 },
            },
        });
        Assert.True(registered == 200, body.ToString());
        await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "checked", taskDefinition = family, desiredCount = 1 });
        await PassAsync();
        var task = (await ServiceTasksAsync("RUNNING"))[0];

        await ReportAsync(task, "RUNNING", containers: [new { containerName = "web", status = "RUNNING", healthStatus = "HEALTHY" }, new { containerName = "sidecar", status = "RUNNING", healthStatus = "UNKNOWN" }]);
        await PassAsync();
        var service = await DescribeServiceAsync("checked");
        Assert.Equal("COMPLETED", service.GetProperty("deployments")[0].GetProperty("rolloutState").GetString());

        await ReportAsync(task, "RUNNING", containers: [new { containerName = "web", status = "RUNNING", healthStatus = "UNHEALTHY" }]);
        await PassAsync();
        Assert.Equal("ServiceSchedulerInitiated", (await DescribeTaskAsync(Arn(task))).GetProperty("stopCode").GetString());
        var replacement = Assert.Single(await ServiceTasksAsync("RUNNING"));
        Assert.NotEqual(Arn(task), Arn(replacement));
    }

    [SkippableFact]
    public async Task Updating_to_a_new_revision_rolls_the_tasks_over_within_the_limits()
    {
        var v1 = await RegisterAsync("v1");
        await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "api", taskDefinition = v1, desiredCount = 2, deploymentConfiguration = new { maximumPercent = 200, minimumHealthyPercent = 100 } });
        await PassAsync();
        var old = await ServiceTasksAsync("RUNNING");
        foreach (var task in old)
        {
            await ReportAsync(task, "RUNNING");
        }

        await PassAsync();
        var v2 = await RegisterAsync("v2", family: v1);
        var (status, updated) = await _ecs.CallAsync("UpdateService", new { cluster = _cluster, service = "api", taskDefinition = v2 });
        Assert.True(status == 200, updated.ToString());
        Assert.Equal(2, updated.GetProperty("service").GetProperty("deployments").GetArrayLength());
        Assert.EndsWith($"{v1}:2", updated.GetProperty("service").GetProperty("taskDefinition").GetString(), StringComparison.Ordinal);

        await PassAsync();
        var all = await ServiceTasksAsync("RUNNING");
        Assert.Equal(4, all.Count);
        var fresh = all.Where(t => t.GetProperty("taskDefinitionArn").GetString()!.EndsWith(":2", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, fresh.Count);

        await PassAsync();
        Assert.Equal(4, (await ServiceTasksAsync("RUNNING")).Count);

        foreach (var task in fresh)
        {
            await ReportAsync(task, "RUNNING");
        }

        await PassAsync();
        var running = await ServiceTasksAsync("RUNNING");
        Assert.Equal(fresh.Select(Arn).Order(), running.Select(Arn).Order());
        var stopped = await DescribeTaskAsync(Arn(old[0]));
        Assert.Equal("ServiceSchedulerInitiated", stopped.GetProperty("stopCode").GetString());

        foreach (var task in old)
        {
            await ReportAsync(task, "STOPPED", exitCode: 143);
        }

        await PassAsync();
        var service = await DescribeServiceAsync("api");
        Assert.Equal(1, service.GetProperty("deployments").GetArrayLength());
        Assert.Equal("COMPLETED", service.GetProperty("deployments")[0].GetProperty("rolloutState").GetString());
    }

    /// <summary>At 100 % maximum the old task goes before the new deployment fails; the rollback still finds it.</summary>
    [SkippableTheory]
    [InlineData(200, 100)]
    [InlineData(100, 0)]
    public async Task The_circuit_breaker_fails_a_deployment_whose_tasks_fail_and_rolls_back(int maximumPercent, int minimumHealthyPercent)
    {
        var good = await RegisterAsync("good");
        await _ecs.CallAsync("CreateService", new
        {
            cluster = _cluster,
            serviceName = "breaker",
            taskDefinition = good,
            desiredCount = 1,
            deploymentConfiguration = new { maximumPercent, minimumHealthyPercent, deploymentCircuitBreaker = new { enable = true, rollback = true } },
        });
        await PassAsync();
        var original = (await ServiceTasksAsync("RUNNING"))[0];
        await ReportAsync(original, "RUNNING");
        await PassAsync();
        await RegisterAsync("bad", family: good);
        await _ecs.CallAsync("UpdateService", new { cluster = _cluster, service = "breaker", taskDefinition = good + ":2" });

        for (var failures = 0; failures < 3; failures++)
        {
            await PassAsync();
            if ((await DescribeTaskAsync(Arn(original))).GetProperty("desiredStatus").GetString() == "STOPPED")
            {
                await ReportAsync(original, "STOPPED", exitCode: 143);
            }

            var bad = (await ServiceTasksAsync("RUNNING")).Single(t => t.GetProperty("taskDefinitionArn").GetString()!.EndsWith(":2", StringComparison.Ordinal));
            await ReportAsync(bad, "STOPPED", exitCode: 127);
        }

        await PassAsync();
        var service = await DescribeServiceAsync("breaker");
        var deployments = service.GetProperty("deployments").EnumerateArray().ToList();
        Assert.EndsWith($"{good}:1", service.GetProperty("taskDefinition").GetString(), StringComparison.Ordinal);
        Assert.Equal("IN_PROGRESS", deployments[0].GetProperty("rolloutState").GetString());
        Assert.EndsWith(":1", deployments[0].GetProperty("taskDefinition").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("ECS deployment circuit breaker: rolling back to deploymentId", deployments[0].GetProperty("rolloutStateReason").GetString(), StringComparison.Ordinal);
        Assert.Contains(deployments, d => d.GetProperty("rolloutState").GetString() == "FAILED" && d.GetProperty("failedTasks").GetInt32() == 3);
        Assert.Contains(Events(service), e => e.Contains("deployment failed: tasks failed to start.", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task A_deleted_service_drains_its_tasks_and_becomes_inactive()
    {
        var family = await RegisterAsync("v1");
        await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "gone", taskDefinition = family, desiredCount = 1 });
        await PassAsync();
        var task = (await ServiceTasksAsync("RUNNING"))[0];
        await ReportAsync(task, "RUNNING");

        Assert.Equal("InvalidParameterException", await ErrorAsync("DeleteService", new { cluster = _cluster, service = "gone" }));
        var (_, deleted) = await _ecs.CallAsync("DeleteService", new { cluster = _cluster, service = "gone", force = true });
        Assert.Equal("DRAINING", deleted.GetProperty("service").GetProperty("status").GetString());
        await PassAsync();
        Assert.Equal("STOPPED", (await DescribeTaskAsync(Arn(task))).GetProperty("desiredStatus").GetString());
        await ReportAsync(task, "STOPPED", exitCode: 143);
        await PassAsync();

        Assert.Equal("INACTIVE", (await DescribeServiceAsync("gone")).GetProperty("status").GetString());
        Assert.Empty((await _ecs.CallAsync("ListServices", new { cluster = _cluster })).Body.GetProperty("serviceArns").EnumerateArray());
        Assert.Equal(200, (await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "gone", taskDefinition = family, desiredCount = 0 })).Status);
    }

    [SkippableFact]
    public async Task Listing_pages_and_describing_reports_missing_names()
    {
        var family = await RegisterAsync("v1");
        foreach (var name in ServiceNames)
        {
            await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = name, taskDefinition = family, desiredCount = 0 });
        }

        var (_, first) = await _ecs.CallAsync("ListServices", new { cluster = _cluster, maxResults = 2 });
        var (_, second) = await _ecs.CallAsync("ListServices", new { cluster = _cluster, nextToken = first.GetProperty("nextToken").GetString() });
        Assert.Equal(ServiceNames, first.GetProperty("serviceArns").EnumerateArray().Concat(second.GetProperty("serviceArns").EnumerateArray()).Select(a => a.GetString()![(a.GetString()!.LastIndexOf('/') + 1)..]));

        var (_, described) = await _ecs.CallAsync("DescribeServices", new { cluster = _cluster, services = OneKnownOneNot });
        Assert.Equal("a", described.GetProperty("services")[0].GetProperty("serviceName").GetString());
        Assert.Equal("MISSING", described.GetProperty("failures")[0].GetProperty("reason").GetString());
    }

    [SkippableFact]
    public async Task Bad_service_requests_get_ecs_errors()
    {
        var family = await RegisterAsync("v1");
        await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "dup", taskDefinition = family, desiredCount = 0 });

        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "dup", taskDefinition = family, desiredCount = 0 }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "no-count", taskDefinition = family }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "bad name!", taskDefinition = family, desiredCount = 1 }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "neg", taskDefinition = family, desiredCount = -1 }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "pct", taskDefinition = family, desiredCount = 1, deploymentConfiguration = new { maximumPercent = 50 } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "cb", taskDefinition = family, desiredCount = 1, deploymentConfiguration = new { deploymentCircuitBreaker = new { enable = "yes" } } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "strat", taskDefinition = family, desiredCount = 1, placementStrategy = new[] { new { type = "sideways" } } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "many", taskDefinition = family, desiredCount = 5001 }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "daemon", taskDefinition = family, schedulingStrategy = "DAEMON" }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "cd", taskDefinition = family, desiredCount = 1, deploymentController = new { type = "CODE_DEPLOY" } }));
        Assert.Equal("ClusterNotFoundException", await ErrorAsync("CreateService", new { cluster = "no-such-cluster", serviceName = "x", taskDefinition = family, desiredCount = 1 }));
        Assert.Equal("ClientException", await ErrorAsync("CreateService", new { cluster = _cluster, serviceName = "x", taskDefinition = "no-such-family", desiredCount = 1 }));
        Assert.Equal("ServiceNotFoundException", await ErrorAsync("UpdateService", new { cluster = _cluster, service = "nope", desiredCount = 1 }));
        Assert.Equal("ServiceNotFoundException", await ErrorAsync("DeleteService", new { cluster = _cluster, service = "nope" }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("DescribeServices", new { cluster = _cluster, services = NoPorts }));
        Assert.Equal("ClusterContainsServicesException", await ErrorAsync("DeleteCluster", new { cluster = _cluster }));
    }

    private Task PassAsync() => registry.Services.GetRequiredService<ServiceScheduler>().PassAsync(CancellationToken.None);

    private async Task<string> RegisterAsync(string version, string? family = null)
    {
        family ??= "svc-" + Guid.NewGuid().ToString("N")[..8];
        var (status, body) = await _ecs.CallAsync("RegisterTaskDefinition", new
        {
            family,
            containerDefinitions = new[] { new { name = "web", image = $"localhost/team/web:{version}", memory = 64 } },
        });
        Assert.True(status == 200, body.ToString());
        return family;
    }

    /// <summary>What an agent would report: the task's one container reaching <paramref name="status"/>.</summary>
    private async Task ReportAsync(JsonElement task, string status, int? exitCode = null, object[]? containers = null)
    {
        containers ??= [new { containerName = "web", status, exitCode }];
        var (code, body) = await _ecs.CallAsync("SubmitTaskStateChange", new { cluster = _cluster, task = Arn(task), status, containers });
        Assert.True(code == 200, body.ToString());
    }

    /// <summary>The cluster's tasks with the given desired status, described.</summary>
    private async Task<List<JsonElement>> ServiceTasksAsync(string desiredStatus)
    {
        var arns = (await _ecs.CallAsync("ListTasks", new { cluster = _cluster, desiredStatus })).Body.GetProperty("taskArns").EnumerateArray().Select(a => a.GetString()).ToList();
        return arns.Count == 0 ? [] : (await _ecs.CallAsync("DescribeTasks", new { cluster = _cluster, tasks = arns })).Body.GetProperty("tasks").EnumerateArray().ToList();
    }

    private async Task<JsonElement> DescribeTaskAsync(string taskArn) =>
        (await _ecs.CallAsync("DescribeTasks", new { cluster = _cluster, tasks = new[] { taskArn } })).Body.GetProperty("tasks")[0];

    private async Task<JsonElement> DescribeServiceAsync(string name) =>
        (await _ecs.CallAsync("DescribeServices", new { cluster = _cluster, services = new[] { name } })).Body.GetProperty("services")[0];

    private static string Arn(JsonElement task) => task.GetProperty("taskArn").GetString()!;

    private static List<string> Events(JsonElement service) => service.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("message").GetString()!).ToList();

    private async Task<string?> ErrorAsync(string operation, object request)
    {
        var (status, body) = await _ecs.CallAsync(operation, request);
        Assert.Equal(400, status);
        return body.GetProperty("__type").GetString();
    }
}

public sealed class EcsServiceApiTestsOnSqlite(RegistryFixture registry) : EcsServiceApiTests(registry), IClassFixture<RegistryFixture>;

public sealed class EcsServiceApiTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : EcsServiceApiTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
