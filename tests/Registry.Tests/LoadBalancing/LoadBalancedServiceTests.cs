using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Registry.Ecs;
using Registry.Tests.Support;

namespace Registry.Tests.LoadBalancing;

/// <summary>
/// The built-in load balancer in process, with real HTTP: the registry's balancer listens on a port of
/// its own, and the "tasks" a fake agent reports are small HTTP servers on this machine. The service
/// scheduler's passes run here one at a time, as in <c>EcsServiceApiTests</c>.
/// </summary>
public abstract class LoadBalancedServiceTests(RegistryFixture registry, int listenerPort) : IAsyncLifetime, IDisposable
{
    private static readonly string[] Web = ["web"];
    private const string TargetGroupArn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef";

    private readonly Dictionary<string, Backend> _backends = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private AwsJsonTestClient _ecs = null!;
    private string _cluster = null!;
    private string _instanceArn = null!;

    private Uri Balancer => new($"http://127.0.0.1:{listenerPort}/");

    public async Task InitializeAsync()
    {
        var session = await EcsTestSession.StartAsync(registry, "lb-");
        (_ecs, _cluster) = (session.Ecs, session.Cluster);
        _instanceArn = await session.RegisterInstanceAsync(("registry.instance-address", "127.0.0.1"));
    }

    /// <summary>Scales the service away, so that the next test's target group holds only its own tasks.</summary>
    public async Task DisposeAsync()
    {
        await _ecs.CallAsync("UpdateService", new { cluster = _cluster, service = "web", desiredCount = 0 });
        await PassAsync();
        foreach (var backend in _backends.Values)
        {
            await backend.DisposeAsync();
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        GC.SuppressFinalize(this);
    }

    [SkippableFact]
    public async Task A_rolling_update_behind_the_balancer_fails_no_request()
    {
        var v1 = await RegisterAsync("v1");
        var (status, created) = await _ecs.CallAsync("CreateService", new
        {
            cluster = _cluster,
            serviceName = "web",
            taskDefinition = v1,
            desiredCount = 2,
            healthCheckGracePeriodSeconds = 30,
            loadBalancers = new[] { new { targetGroupArn = TargetGroupArn, containerName = "web", containerPort = 80 } },
        });
        Assert.True(status == 200, created.ToString());
        var described = created.GetProperty("service");
        Assert.Equal(30, described.GetProperty("healthCheckGracePeriodSeconds").GetInt32());
        var loadBalancer = described.GetProperty("loadBalancers")[0];
        Assert.Matches("^arn:aws:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/web/[0-9a-f]{16}$", loadBalancer.GetProperty("targetGroupArn").GetString());
        Assert.Equal(80, loadBalancer.GetProperty("containerPort").GetInt32());

        await ActAsAgentAsync("v1");
        await WaitAsync(async () => await TryGetAsync() == "v1", "the balancer to route to the first tasks");
        await WaitAsync(async () => await RolloutStateAsync() == "COMPLETED", "the first deployment to complete");

        using var load = new Load(_http, Balancer);
        var v2 = await RegisterAsync("v2", v1);
        Assert.Equal(200, (await _ecs.CallAsync("UpdateService", new { cluster = _cluster, service = "web", taskDefinition = v2 })).Status);
        var drainSeen = false;
        await WaitAsync(
            async () =>
            {
                var tasks = await ActAsAgentAsync("v2");
                drainSeen |= tasks.Any(t => t.LastStatus == "DEACTIVATING" && t.DesiredStatus == "STOPPED" && t.AgentToldToStop == false);
                return await RolloutStateAsync() == "COMPLETED" && tasks.Count(t => t.DesiredStatus == "RUNNING") == 2;
            },
            "the service to roll over to v2");
        await Task.Delay(1500);
        var (failures, bodies) = await load.StopAsync();

        Assert.True(drainSeen, "an old task drains (DEACTIVATING, its agent told to keep it running) before it stops");
        Assert.True(failures.IsEmpty, $"{failures.Count} of {failures.Count + bodies.Count} requests failed: {string.Join("; ", failures.Take(5))}");
        Assert.Contains("v1", bodies);
        Assert.Contains("v2", bodies);
        Assert.Equal("v2", bodies[^1]);
        await AllAnswerAsync("v2");
    }

    [SkippableFact]
    public async Task A_task_that_stops_answering_gets_no_requests_and_is_replaced()
    {
        var family = await RegisterAsync("up");
        Assert.Equal(200, (await _ecs.CallAsync("CreateService", new
        {
            cluster = _cluster,
            serviceName = "web",
            taskDefinition = family,
            desiredCount = 2,
            loadBalancers = new[] { new { targetGroupArn = TargetGroupArn, containerName = "web", containerPort = 80 } },
        })).Status);
        await ActAsAgentAsync("up");
        await WaitAsync(async () => await RolloutStateAsync() == "COMPLETED", "the deployment to complete");

        var (silent, backend) = _backends.First();
        await backend.DisposeAsync();
        _backends.Remove(silent);
        await AllAnswerAsync("up");
        await WaitAsync(async () => (await TargetsAsync()).Any(t => t.TaskId == silent[(silent.LastIndexOf('/') + 1)..] && t.Health == "unhealthy"), "the balancer to find the task unhealthy");
        JsonElement stopped = default;
        await WaitAsync(
            async () =>
            {
                await PassAsync();
                stopped = (await _ecs.CallAsync("DescribeTasks", new { cluster = _cluster, tasks = new[] { silent } })).Body.GetProperty("tasks")[0];
                return stopped.GetProperty("desiredStatus").GetString() == "STOPPED";
            },
            "the service scheduler to stop the unhealthy task");
        Assert.Equal("Task failed ELB health checks", stopped.GetProperty("stoppedReason").GetString());
        await WaitAsync(async () => (await ActAsAgentAsync("up")).Count(t => t.DesiredStatus == "RUNNING") == 2 && await RolloutStateAsync() == "COMPLETED", "a replacement to serve");
        await AllAnswerAsync("up");
    }

    [SkippableFact]
    public async Task Bad_load_balancer_settings_get_ecs_errors()
    {
        var family = await RegisterAsync("v1");
        var none = await RegisterAsync("v1", networkMode: "none");
        async Task<string> ErrorAsync(string taskDefinition, object loadBalancer)
        {
            var (status, body) = await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "bad", taskDefinition, desiredCount = 1, loadBalancers = new[] { loadBalancer } });
            Assert.Equal(400, status);
            Assert.Equal("InvalidParameterException", body.GetProperty("__type").GetString());
            return body.GetProperty("message").GetString()!;
        }

        Assert.Contains("does not exist", await ErrorAsync(family, new { targetGroupArn = TargetGroupArn.Replace("/web/", "/nope/", StringComparison.Ordinal), containerName = "web", containerPort = 80 }), StringComparison.Ordinal);
        Assert.Contains("not a target group ARN", await ErrorAsync(family, new { targetGroupArn = "web", containerName = "web", containerPort = 80 }), StringComparison.Ordinal);
        Assert.Contains("Classic Load Balancers", await ErrorAsync(family, new { loadBalancerName = "web", containerName = "web", containerPort = 80 }), StringComparison.Ordinal);
        Assert.Contains("The container db does not exist", await ErrorAsync(family, new { targetGroupArn = TargetGroupArn, containerName = "db", containerPort = 80 }), StringComparison.Ordinal);
        Assert.Contains("did not have a container port 81", await ErrorAsync(family, new { targetGroupArn = TargetGroupArn, containerName = "web", containerPort = 81 }), StringComparison.Ordinal);
        Assert.Contains("containerPort", await ErrorAsync(family, new { targetGroupArn = TargetGroupArn, containerName = "web", containerPort = 70000 }), StringComparison.Ordinal);
        Assert.Contains("networkMode none", await ErrorAsync(none, new { targetGroupArn = TargetGroupArn, containerName = "web", containerPort = 80 }), StringComparison.Ordinal);

        Assert.Equal(200, (await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "plain", taskDefinition = family, desiredCount = 0 })).Status);
        var (status, body) = await _ecs.CallAsync("UpdateService", new { cluster = _cluster, service = "plain", loadBalancers = new[] { new { targetGroupArn = TargetGroupArn, containerName = "web", containerPort = 81 } } });
        Assert.Equal(400, status);
        Assert.Contains("did not have a container port 81", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// One round of what an agent does: a scheduler pass, a backend serving <paramref name="body"/> for
    /// each new task (reported RUNNING with its host port), and the backend of each task its poll says
    /// to stop taken down (reported STOPPED). Returns the tasks as described, with what the poll told.
    /// </summary>
    private async Task<List<TaskView>> ActAsAgentAsync(string body)
    {
        await PassAsync();
        var (_, poll) = await _ecs.CallAsync("Poll", new { cluster = _cluster, containerInstance = _instanceArn });
        var told = poll.GetProperty("tasks").EnumerateArray().ToDictionary(t => t.GetProperty("taskArn").GetString()!, t => t.GetProperty("desiredStatus").GetString()!);
        var arns = (await _ecs.CallAsync("ListTasks", new { cluster = _cluster, serviceName = "web" })).Body.GetProperty("taskArns").EnumerateArray().Select(a => a.GetString()!).ToList()
            .Concat((await _ecs.CallAsync("ListTasks", new { cluster = _cluster, serviceName = "web", desiredStatus = "STOPPED" })).Body.GetProperty("taskArns").EnumerateArray().Select(a => a.GetString()!)).ToList();
        var views = new List<TaskView>();
        foreach (var task in (await _ecs.CallAsync("DescribeTasks", new { cluster = _cluster, tasks = arns })).Body.GetProperty("tasks").EnumerateArray())
        {
            var arn = task.GetProperty("taskArn").GetString()!;
            var (lastStatus, desired) = (task.GetProperty("lastStatus").GetString()!, task.GetProperty("desiredStatus").GetString()!);
            if (desired == "RUNNING" && lastStatus != "RUNNING" && !_backends.ContainsKey(arn))
            {
                var backend = await Backend.StartAsync(body);
                _backends[arn] = backend;
                await ReportAsync(arn, "RUNNING", [new { bindIP = "0.0.0.0", containerPort = 80, hostPort = backend.Port, protocol = "tcp" }]);
            }
            else if (told.GetValueOrDefault(arn) == "STOPPED" && lastStatus != "STOPPED")
            {
                if (_backends.Remove(arn, out var backend))
                {
                    await backend.DisposeAsync();
                }

                await ReportAsync(arn, "STOPPED", []);
            }

            views.Add(new TaskView(arn, lastStatus, desired, told.TryGetValue(arn, out var t) ? t == "STOPPED" : null));
        }

        return views;
    }

    private async Task ReportAsync(string taskArn, string status, object[] bindings)
    {
        var (code, body) = await _ecs.CallAsync("SubmitTaskStateChange", new
        {
            cluster = _cluster,
            task = taskArn,
            status,
            containers = new[] { new { containerName = "web", status, exitCode = status == "STOPPED" ? (int?)0 : null, networkBindings = bindings } },
        });
        Assert.True(code == 200, body.ToString());
    }

    private async Task<string> RolloutStateAsync() =>
        (await _ecs.CallAsync("DescribeServices", new { cluster = _cluster, services = Web })).Body.GetProperty("services")[0].GetProperty("deployments")[0].GetProperty("rolloutState").GetString()!;

    private async Task<List<(string TaskId, string Health)>> TargetsAsync()
    {
        var report = await registry.CreateClient().GetFromJsonAsync<JsonElement>("/admin/v1/target-groups");
        return report.GetProperty("targetGroups").EnumerateArray().Single(g => g.GetProperty("name").GetString() == "web").GetProperty("targets").EnumerateArray()
            .Select(t => (t.GetProperty("taskId").GetString()!, t.GetProperty("health").GetString()!)).ToList();
    }

    /// <summary>Ten requests through the balancer, each answered with <paramref name="body"/>.</summary>
    private async Task AllAnswerAsync(string body)
    {
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(body, await TryGetAsync());
        }
    }

    private async Task<string?> TryGetAsync()
    {
        using var response = await _http.GetAsync(Balancer);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : null;
    }

    private Task PassAsync() => registry.Services.GetRequiredService<ServiceScheduler>().PassAsync(CancellationToken.None);

    private async Task<string> RegisterAsync(string version, string? family = null, string networkMode = "bridge")
    {
        family ??= "lb-" + Guid.NewGuid().ToString("N")[..8];
        var (status, body) = await _ecs.CallAsync("RegisterTaskDefinition", new
        {
            family,
            networkMode,
            containerDefinitions = new[] { new { name = "web", image = $"localhost/team/web:{version}", memory = 64, portMappings = new[] { new { containerPort = 80, hostPort = 0 } } } },
        });
        Assert.True(status == 200, body.ToString());
        return family;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(200);
        }
    }

    private sealed record TaskView(string Arn, string LastStatus, string DesiredStatus, bool? AgentToldToStop);

    /// <summary>Requests sent one after another through the balancer until stopped: the failures, and the bodies of the rest in order.</summary>
    private sealed class Load : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentQueue<string> _failures = new();
        private readonly List<string> _bodies = [];
        private readonly Task _running;

        public Load(HttpClient http, Uri target) => _running = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await http.GetAsync(target);
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.IsSuccessStatusCode)
                    {
                        _bodies.Add(body);
                    }
                    else
                    {
                        _failures.Enqueue($"{(int)response.StatusCode} {body.Trim()}");
                    }
                }
                catch (HttpRequestException e)
                {
                    _failures.Enqueue(e.Message);
                }
            }
        });

        public async Task<(ConcurrentQueue<string> Failures, List<string> Bodies)> StopAsync()
        {
            await _stop.CancelAsync();
            await _running;
            return (_failures, _bodies);
        }

        public void Dispose() => _stop.Dispose();
    }

    /// <summary>A task's HTTP server: answers every request with its body.</summary>
    private sealed class Backend : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Backend(WebApplication app, int port) => (_app, Port) = (app, port);

        public int Port { get; }

        public static async Task<Backend> StartAsync(string body)
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.Run(context => context.Response.WriteAsync(body));
            await app.StartAsync();
            return new Backend(app, new Uri(app.Urls.First()).Port);
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

/// <summary>The registry with target group <c>web</c> on a free port, checked every second, drained for 2 s.</summary>
public static class LoadBalancerSettings
{
    public static int Add(Dictionary<string, string?> settings)
    {
        var port = ServerProcess.FreePort();
        settings["LoadBalancer:TargetGroups:web:Listener"] = $"http://127.0.0.1:{port}";
        settings["LoadBalancer:TargetGroups:web:HealthCheckInterval"] = "00:00:01";
        settings["LoadBalancer:TargetGroups:web:HealthCheckTimeout"] = "00:00:01";
        settings["LoadBalancer:TargetGroups:web:HealthyThreshold"] = "1";
        settings["LoadBalancer:TargetGroups:web:UnhealthyThreshold"] = "2";
        settings["LoadBalancer:TargetGroups:web:DeregistrationDelay"] = "00:00:02";
        return port;
    }
}

public sealed class LoadBalancedRegistryFixture : RegistryFixture
{
    public LoadBalancedRegistryFixture() => ListenerPort = LoadBalancerSettings.Add(Settings);

    public int ListenerPort { get; }
}

public sealed class LoadBalancedPostgreSqlRegistryFixture : PostgreSqlRegistryFixture
{
    public LoadBalancedPostgreSqlRegistryFixture() => ListenerPort = LoadBalancerSettings.Add(Settings);

    public int ListenerPort { get; }
}

public sealed class LoadBalancedServiceTestsOnSqlite(LoadBalancedRegistryFixture registry)
    : LoadBalancedServiceTests(registry, registry.ListenerPort), IClassFixture<LoadBalancedRegistryFixture>;

public sealed class LoadBalancedServiceTestsOnPostgreSql(LoadBalancedPostgreSqlRegistryFixture registry)
    : LoadBalancedServiceTests(registry.Require(), registry.ListenerPort), IClassFixture<LoadBalancedPostgreSqlRegistryFixture>;
