using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Data;
using Registry.Ecs;
using Registry.Tests.Support;

namespace Registry.Tests.Ecs;

/// <summary>
/// The ECS control plane in process: container instances, RunTask/StartTask placement, the agent's poll
/// and state changes, StopTask, and agents that stop answering. Run against each metadata database.
/// </summary>
public abstract class EcsTaskApiTests(RegistryFixture registry) : IAsyncLifetime
{
    private static readonly string[] ReservedPorts = ["22"];
    private static readonly int[] NumericPorts = [22];
    private static readonly string[] BareNames = ["web"];

    private AwsJsonTestClient _ecs = null!;
    private string _cluster = null!;

    public async Task InitializeAsync()
    {
        var session = await EcsTestSession.StartAsync(registry, "tasks-");
        (_ecs, _cluster) = (session.Ecs, session.Cluster);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [SkippableFact]
    public async Task A_task_runs_on_a_registered_instance_through_the_agents_reports_to_stopped()
    {
        var family = await RegisterWebAsync(memory: 256, hostPort: 8080);
        var instance = await RegisterInstanceAsync(memory: 1024);

        var (status, run) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family, startedBy = "test" });

        Assert.Equal(200, status);
        var task = run.GetProperty("tasks")[0];
        var taskArn = task.GetProperty("taskArn").GetString()!;
        Assert.Equal("PROVISIONING", task.GetProperty("lastStatus").GetString());
        Assert.Equal("RUNNING", task.GetProperty("desiredStatus").GetString());
        Assert.Equal(instance, task.GetProperty("containerInstanceArn").GetString());
        Assert.Equal("256", task.GetProperty("memory").GetString());
        var held = await DescribeInstanceAsync(instance);
        Assert.Equal(1024 - 256, Resource(held, "remainingResources", "MEMORY").GetProperty("integerValue").GetInt32());
        Assert.Contains("8080", Resource(held, "remainingResources", "PORTS").GetProperty("stringSetValue").EnumerateArray().Select(p => p.GetString()));

        var (_, poll) = await _ecs.CallAsync("Poll", new { cluster = _cluster, containerInstance = instance });
        var assigned = poll.GetProperty("tasks")[0];
        Assert.Equal(taskArn, assigned.GetProperty("taskArn").GetString());
        Assert.Equal(family, assigned.GetProperty("taskDefinition").GetProperty("family").GetString());

        await SubmitAsync(taskArn, "RUNNING", new { containerName = "web", status = "RUNNING", runtimeId = "c0ffee", networkBindings = new[] { new { bindIP = "0.0.0.0", containerPort = 80, hostPort = 8080, protocol = "tcp" } } });
        var running = await DescribeTaskAsync(taskArn);
        Assert.Equal("RUNNING", running.GetProperty("lastStatus").GetString());
        Assert.Equal(8080, running.GetProperty("containers")[0].GetProperty("networkBindings")[0].GetProperty("hostPort").GetInt32());
        Assert.True(running.TryGetProperty("startedAt", out _));

        var (_, stopped) = await _ecs.CallAsync("StopTask", new { cluster = _cluster, task = taskArn, reason = "done testing" });
        Assert.Equal("STOPPED", stopped.GetProperty("task").GetProperty("desiredStatus").GetString());
        Assert.Equal("UserInitiated", stopped.GetProperty("task").GetProperty("stopCode").GetString());
        var (_, told) = await _ecs.CallAsync("Poll", new { cluster = _cluster, containerInstance = instance, knownTasks = new[] { new { taskArn, version = assigned.GetProperty("version").GetInt64() } }, waitSeconds = 10 });
        Assert.Equal("STOPPED", told.GetProperty("tasks")[0].GetProperty("desiredStatus").GetString());

        await SubmitAsync(taskArn, "STOPPED", new { containerName = "web", status = "STOPPED", exitCode = 143, logTail = new string('x', 20_000) + "last words\n" });
        var logs = await registry.CreateClient().GetStringAsync($"/admin/v1/task-logs/{_cluster}/{taskArn[(taskArn.LastIndexOf('/') + 1)..]}");
        using (var tail = JsonDocument.Parse(logs))
        {
            var text = tail.RootElement.GetProperty("containers")[0].GetProperty("logTail").GetString()!;
            Assert.EndsWith("last words\n", text, StringComparison.Ordinal);
            Assert.Equal(16 * 1024, text.Length);
        }

        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await registry.CreateClient().GetAsync($"/admin/v1/task-logs/{_cluster}/0123456789abcdef0123456789abcdef")).StatusCode);
        var final = await DescribeTaskAsync(taskArn);
        Assert.Equal("STOPPED", final.GetProperty("lastStatus").GetString());
        Assert.Equal("done testing", final.GetProperty("stoppedReason").GetString());
        Assert.Equal(143, final.GetProperty("containers")[0].GetProperty("exitCode").GetInt32());
        Assert.Equal(1024, Resource(await DescribeInstanceAsync(instance), "remainingResources", "MEMORY").GetProperty("integerValue").GetInt32());
        var (_, listed) = await _ecs.CallAsync("ListTasks", new { cluster = _cluster, desiredStatus = "STOPPED" });
        Assert.Contains(taskArn, listed.GetProperty("taskArns").EnumerateArray().Select(a => a.GetString()));
        Assert.Empty((await _ecs.CallAsync("ListTasks", new { cluster = _cluster })).Body.GetProperty("taskArns").EnumerateArray());
    }

    [SkippableFact]
    public async Task An_essential_container_exit_stops_the_task_with_its_exit_code()
    {
        var family = await RegisterWebAsync(memory: 128, hostPort: 0);
        await RegisterInstanceAsync(memory: 512);
        var taskArn = (await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family })).Body.GetProperty("tasks")[0].GetProperty("taskArn").GetString()!;

        await SubmitAsync(taskArn, "RUNNING", new { containerName = "web", status = "RUNNING" });
        await SubmitAsync(taskArn, "STOPPED", new { containerName = "web", status = "STOPPED", exitCode = 3 });

        var task = await DescribeTaskAsync(taskArn);
        Assert.Equal("STOPPED", task.GetProperty("lastStatus").GetString());
        Assert.Equal("EssentialContainerExited", task.GetProperty("stopCode").GetString());
        Assert.Equal(3, task.GetProperty("containers")[0].GetProperty("exitCode").GetInt32());
    }

    [SkippableFact]
    public async Task Placement_spreads_with_distinct_instance_and_reports_what_did_not_fit()
    {
        var family = await RegisterWebAsync(memory: 256, hostPort: 0);
        var first = await RegisterInstanceAsync(memory: 1024);
        var second = await RegisterInstanceAsync(memory: 1024);

        var (_, run) = await _ecs.CallAsync("RunTask", new
        {
            cluster = _cluster,
            taskDefinition = family,
            count = 3,
            placementConstraints = new[] { new { type = "distinctInstance" } },
            placementStrategy = new[] { new { type = "binpack", field = "memory" } },
        });

        var placed = run.GetProperty("tasks").EnumerateArray().Select(t => t.GetProperty("containerInstanceArn").GetString()!).Order(StringComparer.Ordinal);
        Assert.Equal(new[] { first, second }.Order(StringComparer.Ordinal), placed);
        Assert.Contains(run.GetProperty("failures").EnumerateArray(), f => f.GetProperty("reason").GetString() == "DistinctInstance placement constraint unsatisfied.");

        var (_, tooBig) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family, overrides = new { memory = "4096" } });
        Assert.Empty(tooBig.GetProperty("tasks").EnumerateArray());
        Assert.All(tooBig.GetProperty("failures").EnumerateArray(), f => Assert.Equal("RESOURCE:MEMORY", f.GetProperty("reason").GetString()));

        var (_, started) = await _ecs.CallAsync("StartTask", new { cluster = _cluster, taskDefinition = family, containerInstances = new[] { second } });
        Assert.Equal(second, started.GetProperty("tasks")[0].GetProperty("containerInstanceArn").GetString());
    }

    [SkippableFact]
    public async Task Bad_requests_get_ecs_errors()
    {
        var family = await RegisterWebAsync(memory: 128, hostPort: 0);

        var (_, empty) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family });
        Assert.Equal("No Container Instances were found in your cluster.", empty.GetProperty("failures")[0].GetProperty("reason").GetString());
        await RegisterInstanceAsync(memory: 512);

        Assert.Equal("ClusterNotFoundException", await ErrorAsync("RunTask", new { cluster = "missing-" + _cluster, taskDefinition = family }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, count = 11 }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, placementStrategy = new[] { new { type = "fastest" } } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, placementConstraints = new[] { new { type = "memberOf", expression = "attribute:x ===" } } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, overrides = new { containerOverrides = new[] { new { name = "nope" } } } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, overrides = new { bogus = 1 } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, launchType = "EXTERNAL" }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, group = "service:web" }));
        Assert.Equal("ClientException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = "missing-family" }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("StopTask", new { cluster = _cluster, task = "0123456789abcdef0123456789abcdef" }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("Poll", new { cluster = _cluster, containerInstance = "0123456789abcdef0123456789abcdef" }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RegisterContainerInstance", new { cluster = _cluster, totalResources = new[] { new { name = "CPU", type = "INTEGER", integerValue = -1 } } }));

        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, overrides = new { memory = "lots" } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family, overrides = new { containerOverrides = new[] { new { name = "web", memory = -5 } } } }));
        var instance = (await _ecs.CallAsync("ListContainerInstances", new { cluster = _cluster })).Body.GetProperty("containerInstanceArns")[0].GetString();
        Assert.Equal("InvalidParameterException", await ErrorAsync("Poll", new { cluster = _cluster, containerInstance = instance, knownTasks = new[] { new { taskArn = "t", version = "new" } } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("Poll", new { cluster = _cluster, containerInstance = instance, waitSeconds = "soon" }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RegisterContainerInstance", new { cluster = _cluster, totalResources = new object[] { new { name = "CPU", integerValue = 1024 }, new { name = "MEMORY", integerValue = 512 }, new { name = "PORTS", stringSetValue = "22" } } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("RegisterContainerInstance", new { cluster = _cluster, totalResources = new object[] { new { name = "CPU", integerValue = 1024 }, new { name = "MEMORY", integerValue = 512 }, new { name = "PORTS", stringSetValue = NumericPorts } } }));
        var taskArn = (await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family })).Body.GetProperty("tasks")[0].GetProperty("taskArn").GetString();
        Assert.Equal("InvalidParameterException", await ErrorAsync("SubmitTaskStateChange", new { cluster = _cluster, task = taskArn, status = "RUNNING", containers = new[] { new { containerName = "web", status = "STOPPED", exitCode = 3.5 } } }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("SubmitTaskStateChange", new { cluster = _cluster, task = taskArn, status = "RUNNING", pullStartedAt = 1e20 }));
        Assert.Equal("InvalidParameterException", await ErrorAsync("SubmitTaskStateChange", new { cluster = _cluster, task = taskArn, status = "RUNNING", containers = BareNames }));

        await _ecs.CallAsync("DeregisterTaskDefinition", new { taskDefinition = family + ":1" });
        Assert.Equal("ClientException", await ErrorAsync("RunTask", new { cluster = _cluster, taskDefinition = family + ":1" }));
        Assert.Equal("ClusterContainsContainerInstancesException", await ErrorAsync("DeleteCluster", new { cluster = _cluster }));
        await _ecs.CallAsync("DeregisterContainerInstance", new { cluster = _cluster, containerInstance = instance, force = true });
        Assert.Equal("INACTIVE", (await _ecs.CallAsync("DeleteCluster", new { cluster = _cluster })).Body.GetProperty("cluster").GetProperty("status").GetString());
    }

    [SkippableFact]
    public async Task A_long_poll_returns_when_a_task_is_placed_on_its_instance()
    {
        var family = await RegisterWebAsync(memory: 128, hostPort: 0);
        var instance = await RegisterInstanceAsync(memory: 512);

        var poll = _ecs.CallAsync("Poll", new { cluster = _cluster, containerInstance = instance, waitSeconds = 20 });
        await Task.Delay(300);
        var taskArn = (await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family })).Body.GetProperty("tasks")[0].GetProperty("taskArn").GetString();

        var (status, body) = await poll;
        Assert.Equal(200, status);
        Assert.Equal(taskArn, body.GetProperty("tasks")[0].GetProperty("taskArn").GetString());
    }

    [SkippableFact]
    public async Task An_agent_that_stops_polling_is_disconnected_and_its_tasks_reported_lost()
    {
        var family = await RegisterWebAsync(memory: 128, hostPort: 0);
        var instance = await RegisterInstanceAsync(memory: 512);
        var taskArn = (await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family })).Body.GetProperty("tasks")[0].GetProperty("taskArn").GetString()!;
        await SubmitAsync(taskArn, "RUNNING", new { containerName = "web", status = "RUNNING" });
        var id = instance[(instance.LastIndexOf('/') + 1)..];
        await using (var db = await registry.Services.GetRequiredService<IDbContextFactory<RegistryDbContext>>().CreateDbContextAsync())
        {
            await db.ContainerInstances.Where(i => i.InstanceId == id).ExecuteUpdateAsync(s => s.SetProperty(i => i.LastHeartbeatAt, DateTime.UtcNow.AddHours(-1)));
        }

        await registry.Services.GetRequiredService<AgentMonitor>().SweepAsync(CancellationToken.None);

        var task = await DescribeTaskAsync(taskArn);
        Assert.Equal("STOPPED", task.GetProperty("lastStatus").GetString());
        Assert.StartsWith("Task lost", task.GetProperty("stoppedReason").GetString(), StringComparison.Ordinal);
        Assert.False((await DescribeInstanceAsync(instance)).GetProperty("agentConnected").GetBoolean());

        var (_, back) = await _ecs.CallAsync("Poll", new { cluster = _cluster, containerInstance = instance, knownTasks = new[] { new { taskArn, version = 0 } } });
        Assert.Equal("STOPPED", back.GetProperty("tasks")[0].GetProperty("desiredStatus").GetString());
        Assert.True((await DescribeInstanceAsync(instance)).GetProperty("agentConnected").GetBoolean());
    }

    private async Task<string> RegisterWebAsync(int memory, int hostPort)
    {
        var family = "web-" + Guid.NewGuid().ToString("N")[..8];
        var (status, body) = await _ecs.CallAsync("RegisterTaskDefinition", new
        {
            family,
            containerDefinitions = new[] { new { name = "web", image = "localhost/team/web:1", memory, portMappings = new[] { new { containerPort = 80, hostPort } } } },
        });
        Assert.True(status == 200, body.ToString());
        return family;
    }

    private async Task<string> RegisterInstanceAsync(int memory)
    {
        var (status, body) = await _ecs.CallAsync("RegisterContainerInstance", new
        {
            cluster = _cluster,
            instanceIdentityDocument = JsonSerializer.Serialize(new { instanceId = "i-" + Guid.NewGuid().ToString("N")[..12] }),
            totalResources = new object[]
            {
                new { name = "CPU", type = "INTEGER", integerValue = 2048 },
                new { name = "MEMORY", type = "INTEGER", integerValue = memory },
                new { name = "PORTS", type = "STRINGSET", stringSetValue = ReservedPorts },
            },
            versionInfo = new { agentVersion = "test" },
            attributes = new[] { new { name = "registry.runtime", value = "docker" } },
        });
        Assert.True(status == 200, body.ToString());
        return body.GetProperty("containerInstance").GetProperty("containerInstanceArn").GetString()!;
    }

    private async Task SubmitAsync(string taskArn, string status, object container)
    {
        var (code, body) = await _ecs.CallAsync("SubmitTaskStateChange", new { cluster = _cluster, task = taskArn, status, containers = new[] { container } });
        Assert.True(code == 200, body.ToString());
    }

    private async Task<JsonElement> DescribeTaskAsync(string taskArn) =>
        (await _ecs.CallAsync("DescribeTasks", new { cluster = _cluster, tasks = new[] { taskArn } })).Body.GetProperty("tasks")[0];

    private async Task<JsonElement> DescribeInstanceAsync(string arn) =>
        (await _ecs.CallAsync("DescribeContainerInstances", new { cluster = _cluster, containerInstances = new[] { arn } })).Body.GetProperty("containerInstances")[0];

    private static JsonElement Resource(JsonElement instance, string list, string name) =>
        instance.GetProperty(list).EnumerateArray().Single(r => r.GetProperty("name").GetString() == name);

    private async Task<string?> ErrorAsync(string operation, object request)
    {
        var (status, body) = await _ecs.CallAsync(operation, request);
        Assert.Equal(400, status);
        return body.GetProperty("__type").GetString();
    }
}

public sealed class EcsTaskApiTestsOnSqlite(RegistryFixture registry) : EcsTaskApiTests(registry), IClassFixture<RegistryFixture>;

public sealed class EcsTaskApiTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : EcsTaskApiTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
