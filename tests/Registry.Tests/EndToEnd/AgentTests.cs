using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// <c>registry agent</c> on each runtime, driven by the real AWS CLI: a busybox image pushed to the
/// registry, a cluster and task definitions per test, and an agent of its own per test registered in
/// that cluster. See the subclasses at the end for the runtimes.
/// </summary>
public abstract class AgentTests(EndToEndFixture e2e, string runtime) : IAsyncLifetime, IDisposable
{
    private static readonly string[] Shell = ["/bin/sh", "-c"];
    private static readonly JsonSerializerOptions WithoutNulls = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private readonly string _cluster = "agent-" + Guid.NewGuid().ToString("N")[..8];
    private AwsCli _aws = null!;
    private (string Id, string Secret) _key;

    protected string DataDirectory => e2e.WorkPath(_cluster);

    protected EndToEndFixture EndToEnd => e2e;
    private AgentProcess? _agent;
    private string _image = "";

    public async Task InitializeAsync()
    {
        if (!EndToEndFixture.Enabled)
        {
            return;
        }

        _aws = new AwsCli(e2e.Server);
        _key = await _aws.KeyAsync("admin");
        _image = await PushBusyboxAsync();
        await _aws.JsonAsync(_key, "ecs", "create-cluster", "--cluster-name", _cluster);
        var config = e2e.WorkPath($"{_cluster}.config");
        await File.WriteAllLinesAsync(config,
        [
            $"ECS_CLUSTER={_cluster}",
            $"ECS_BACKEND_HOST={e2e.Server.BaseAddress.ToString().TrimEnd('/')}",
            $"AWS_ACCESS_KEY_ID={_key.Id}",
            $"AWS_SECRET_ACCESS_KEY={_key.Secret}",
            "ECS_ENGINE_AUTH_TYPE=docker",
            $$$"""ECS_ENGINE_AUTH_DATA={"{{{e2e.Server.HostPort}}}":{"username":"admin","password":"{{{ServerProcess.AdminPassword}}}"}}""",
            $"ECS_DATADIR={DataDirectory}",
            "ECS_CONTAINER_STOP_TIMEOUT=3s",
            $"ECS_RUNTIME={runtime}",
            "ECS_ENABLE_TASK_IAM_ROLE=true",
        ]);
        _agent = new AgentProcess(config);
        _agent.Start();
        await WaitAsync(async () => (await _aws.JsonAsync(_key, "ecs", "list-container-instances", "--cluster", _cluster)).GetProperty("containerInstanceArns").GetArrayLength() == 1, "the agent to register");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _agent?.Dispose();
        GC.SuppressFinalize(this);
    }

    [SkippableFact]
    public async Task A_task_writes_to_stdout_and_its_exit_code_3_stops_it()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = await RegisterAsync("exit3", 64, "echo hello from the task; exit 3");

        var task = await RunAndWaitAsync(family, "STOPPED");

        Assert.Equal("EssentialContainerExited", task.GetProperty("stopCode").GetString());
        var container = task.GetProperty("containers")[0];
        Assert.Equal(3, container.GetProperty("exitCode").GetInt32());
        Assert.Contains("hello from the task", await LogsAsync(container.GetProperty("runtimeId").GetString()!), StringComparison.Ordinal);
        using var http = e2e.Server.CreateClient();
        var taskId = task.GetProperty("taskArn").GetString()!.Split('/')[^1];
        Assert.Contains("hello from the task", await http.GetStringAsync($"/admin/v1/task-logs/{_cluster}/{taskId}"), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_long_task_is_stopped_by_the_user()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = await RegisterAsync("long", 64, "sleep 600");
        var running = await RunAndWaitAsync(family, "RUNNING");
        var taskArn = running.GetProperty("taskArn").GetString()!;

        await _aws.JsonAsync(_key, "ecs", "stop-task", "--cluster", _cluster, "--task", taskArn, "--reason", "e2e stop");
        var stopped = await WaitForStatusAsync(taskArn, "STOPPED");

        Assert.Equal("UserInitiated", stopped.GetProperty("stopCode").GetString());
        Assert.Equal("e2e stop", stopped.GetProperty("stoppedReason").GetString());
        Assert.True(stopped.GetProperty("containers")[0].TryGetProperty("exitCode", out _), _agent!.Log);
    }

    /// <summary>ECS_CONTAINER_STOP_TIMEOUT is 3 s here: a task that handles SIGTERM exits with its own code, one that ignores it is killed (137).</summary>
    [SkippableFact]
    public async Task Stopping_sends_sigterm_and_sigkill_after_the_stop_timeout()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var polite = await RegisterAsync("polite", 64, "trap 'exit 42' TERM; while true; do sleep 1; done");
        var stubborn = await RegisterAsync("stubborn", 64, "trap '' TERM; while true; do sleep 1; done");

        foreach (var (family, exitCode) in new[] { (polite, 42), (stubborn, 137) })
        {
            var taskArn = (await RunAndWaitAsync(family, "RUNNING")).GetProperty("taskArn").GetString()!;
            await StopAsync(taskArn);
            var stopped = await WaitForAsync(taskArn, t => t.GetProperty("lastStatus").GetString() == "STOPPED" && t.GetProperty("containers")[0].TryGetProperty("exitCode", out var code) && code.ValueKind == JsonValueKind.Number, $"task {taskArn} to stop with an exit code");
            Assert.Equal(exitCode, stopped.GetProperty("containers")[0].GetProperty("exitCode").GetInt32());
        }
    }

    [SkippableFact]
    public async Task A_task_over_its_memory_limit_is_oom_killed_and_reported()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = await RegisterAsync("oom", 16, "head -c 200000000 /dev/zero | tail > /dev/null");

        var task = await RunAndWaitAsync(family, "STOPPED");

        var container = task.GetProperty("containers")[0];
        Assert.Equal(137, container.GetProperty("exitCode").GetInt32());
        Assert.StartsWith("OutOfMemoryError", container.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_health_check_runs_in_the_container_and_is_reported()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = await RegisterAsync("health", 64, "sleep 600", healthCommand: "test -e /bin/sh");
        var taskArn = (await RunAndWaitAsync(family, "RUNNING")).GetProperty("taskArn").GetString()!;

        var healthy = await WaitForAsync(taskArn, t => t.GetProperty("healthStatus").GetString() == "HEALTHY", "the task to be HEALTHY");

        Assert.Equal("HEALTHY", healthy.GetProperty("containers")[0].GetProperty("healthStatus").GetString());
        await StopAsync(taskArn);
        await WaitForStatusAsync(taskArn, "STOPPED");
    }

    [SkippableFact]
    public async Task A_task_whose_image_does_not_exist_fails_to_start_with_the_reason()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = "missing-" + Guid.NewGuid().ToString("N")[..8];
        await _aws.JsonAsync(_key, "ecs", "register-task-definition", "--family", family, "--network-mode", "none",
            "--container-definitions", $$$"""[{"name":"main","image":"{{{e2e.Server.HostPort}}}/e2e/not-there:1","memory":16}]""");

        var task = await RunAndWaitAsync(family, "STOPPED");

        Assert.Equal("TaskFailedToStart", task.GetProperty("stopCode").GetString());
        Assert.StartsWith("CannotPullContainerError", task.GetProperty("stoppedReason").GetString(), StringComparison.Ordinal);
        Assert.Contains("not-there", task.GetProperty("stoppedReason").GetString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task An_agent_restart_keeps_the_running_task_without_starting_it_twice()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = await RegisterAsync("keep", 64, "sleep 600");
        var running = await RunAndWaitAsync(family, "RUNNING");
        var taskArn = running.GetProperty("taskArn").GetString()!;
        var runtimeId = running.GetProperty("containers")[0].GetProperty("runtimeId").GetString();

        await _agent!.KillAsync();
        _agent.Start();
        await WaitAsync(() => Task.FromResult(_agent.Log.Contains("Adopted task " + taskArn, StringComparison.Ordinal)), "the restarted agent to adopt the task");
        await Task.Delay(TimeSpan.FromSeconds(6));

        var after = await DescribeAsync(taskArn);
        Assert.Equal("RUNNING", after.GetProperty("lastStatus").GetString());
        Assert.Equal(runtimeId, after.GetProperty("containers")[0].GetProperty("runtimeId").GetString());
        Assert.Equal(1, await ContainerCountAsync(taskArn));
        Assert.Single((await _aws.JsonAsync(_key, "ecs", "list-container-instances", "--cluster", _cluster)).GetProperty("containerInstanceArns").EnumerateArray());

        await _aws.JsonAsync(_key, "ecs", "stop-task", "--cluster", _cluster, "--task", taskArn);
        await WaitForStatusAsync(taskArn, "STOPPED");
    }

    /// <summary>What the container wrote to stdout and stderr, as the runtime keeps it.</summary>
    protected abstract Task<string> LogsAsync(string runtimeId);

    [SkippableFact]
    public async Task A_task_fetches_its_roles_credentials_which_pull_but_do_not_push()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var role = $"puller-{_cluster}";
        var roleArn = await CreatePullerRoleAsync(role);
        var family = await RegisterAsync("role", 32,
            "/bin/busybox wget -q -O - --header \"Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN\" \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\"; echo; "
            + "/bin/busybox wget -q -O - \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" || echo refused without the token; exec /bin/busybox sleep 600",
            networkMode: "host", taskRoleArn: roleArn);

        var task = await RunAndWaitAsync(family, "RUNNING");
        var runtimeId = task.GetProperty("containers")[0].GetProperty("runtimeId").GetString()!;
        var logs = "";
        await WaitAsync(async () => (logs = await LogsAsync(runtimeId)).Contains("refused without the token", StringComparison.Ordinal), "the task to fetch its credentials");
        var line = logs.Split('\n').First(l => l.Contains("\"AccessKeyId\"", StringComparison.Ordinal));
        using var fetched = JsonDocument.Parse(line[line.IndexOf('{', StringComparison.Ordinal)..]);
        var credentials = fetched.RootElement;
        Assert.Equal(roleArn, credentials.GetProperty("RoleArn").GetString());
        var session = (credentials.GetProperty("AccessKeyId").GetString()!, credentials.GetProperty("SecretAccessKey").GetString()!, credentials.GetProperty("Token").GetString()!);

        // The real AWS CLI signs with them: ECR's login works, ECS is not the role's.
        var login = (await _aws.RunAsSessionAsync(session, "ecr", "get-login-password")).EnsureSuccess("aws ecr get-login-password").Output.Trim();
        Assert.NotEqual(0, (await _aws.RunAsSessionAsync(session, "ecs", "list-clusters")).ExitCode);

        using var v2 = new HttpClient { BaseAddress = e2e.Server.BaseAddress };
        v2.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("AWS:" + login)));
        var image = _image[(_image.IndexOf('/') + 1)..].Split(':');
        using var pull = await v2.GetAsync($"/v2/{image[0]}/manifests/{image[1]}");
        Assert.Equal(System.Net.HttpStatusCode.OK, pull.StatusCode);
        using var push = await v2.PostAsync($"/v2/{image[0]}/blobs/uploads/", null);
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, push.StatusCode);
        await StopAsync(task.GetProperty("taskArn").GetString()!);
    }

    [SkippableFact]
    public async Task The_agent_pulls_as_the_tasks_execution_role()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var puller = await RegisterAsync("exec", 32, "echo pulled as the execution role", executionRoleArn: await CreatePullerRoleAsync($"exec-{_cluster}"));
        var stopped = await RunAndWaitAsync(puller, "STOPPED");
        Assert.Equal(0, stopped.GetProperty("containers")[0].GetProperty("exitCode").GetInt32());

        // A role that may not pull fails the task, although the agent's own credentials could pull.
        var refused = await RegisterAsync("noexec", 32, "echo never", executionRoleArn: await CreatePullerRoleAsync($"noexec-{_cluster}", allowed: false));
        var failed = await RunAndWaitAsync(refused, "STOPPED");
        Assert.Equal("TaskFailedToStart", failed.GetProperty("stopCode").GetString());
        Assert.Contains("could not log in", failed.GetProperty("stoppedReason").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Makes a role only ECS tasks may assume, allowed <see cref="PullActions"/> (or nothing); its ARN.</summary>
    protected async Task<string> CreatePullerRoleAsync(string role, bool allowed = true)
    {
        using var admin = e2e.Server.CreateClient();
        await CreatedAsync(admin.PostAsync("/admin/v1/roles", Json(new
        {
            name = role,
            trustPolicy = JsonSerializer.Serialize(new { Version = "2012-10-17", Statement = new[] { new { Effect = "Allow", Principal = new { Service = "ecs-tasks.amazonaws.com" }, Action = "sts:AssumeRole" } } }),
        })));
        await CreatedAsync(admin.PostAsync("/admin/v1/policies", Json(new
        {
            name = role,
            document = JsonSerializer.Serialize(new { Version = "2012-10-17", Statement = new[] { new { Effect = "Allow", Action = PullActions, Resource = "*" } } }),
        })));
        if (allowed)
        {
            Assert.True((await admin.PutAsync($"/admin/v1/roles/{role}/policies/{role}", null)).IsSuccessStatusCode);
        }

        return $"arn:aws:iam::000000000000:role/{role}";
    }

    private static readonly string[] PullActions = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"];

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");

    private static async Task CreatedAsync(Task<HttpResponseMessage> request)
    {
        using var response = await request;
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    [SkippableFact]
    public async Task A_bridge_task_publishes_its_port_and_reports_the_binding()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = await RegisterAsync("bridge", 64, "echo hello over the bridge > /index.html; exec /bin/busybox httpd -f -p 80 -h /", networkMode: "bridge", containerPort: 80);

        var task = await RunAndWaitAsync(family, "RUNNING");

        var binding = task.GetProperty("containers")[0].GetProperty("networkBindings").EnumerateArray().First(b => b.GetProperty("containerPort").GetInt32() == 80);
        var hostPort = binding.GetProperty("hostPort").GetInt32();
        Assert.True(hostPort > 0);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal("hello over the bridge\n", await GetWhenListeningAsync(http, $"http://127.0.0.1:{hostPort}/"));
        await StopAsync(task.GetProperty("taskArn").GetString()!);
        await WaitForStatusAsync(task.GetProperty("taskArn").GetString()!, "STOPPED");
        await AssertUnpublishedAsync(task.GetProperty("containers")[0].GetProperty("runtimeId").GetString()!, hostPort);
    }

    /// <summary>
    /// GET once the task's server listens: RUNNING means its process started (here a shell that writes a
    /// page, then starts httpd), not that its port is bound yet.
    /// </summary>
    private static async Task<string> GetWhenListeningAsync(HttpClient http, string url)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                return await http.GetStringAsync(url);
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Checks that a stopped bridge container holds no host port or network any more.</summary>
    protected virtual Task AssertUnpublishedAsync(string runtimeId, int hostPort) => Task.CompletedTask;

    [SkippableFact]
    public async Task A_service_keeps_its_tasks_running_and_replaces_one_that_is_killed()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = await RegisterAsync("svc", 32, "echo up > /index.html; exec /bin/busybox httpd -f -p 80 -h /", networkMode: "bridge", containerPort: 80);
        await EcsAsync("create-service", "--cluster", Cluster, "--service-name", "web", "--task-definition", family, "--desired-count", "2");

        var first = await ServiceTasksRunningAsync(2, exclude: null);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var task in first)
        {
            var hostPort = task.GetProperty("containers")[0].GetProperty("networkBindings")[0].GetProperty("hostPort").GetInt32();
            Assert.Equal("up\n", await GetWhenListeningAsync(http, $"http://127.0.0.1:{hostPort}/"));
        }

        var killed = first[0];
        await KillAsync(killed.GetProperty("containers")[0].GetProperty("runtimeId").GetString()!);
        var replaced = await ServiceTasksRunningAsync(2, exclude: killed.GetProperty("taskArn").GetString());
        Assert.Contains(replaced, t => t.GetProperty("taskArn").GetString() == first[1].GetProperty("taskArn").GetString());
        var service = (await EcsAsync("describe-services", "--cluster", Cluster, "--services", "web")).GetProperty("services")[0];
        Assert.Equal(2, service.GetProperty("runningCount").GetInt32());
        Assert.Contains(service.GetProperty("events").EnumerateArray(), e => e.GetProperty("message").GetString()!.StartsWith("(service web) has started 1 tasks", StringComparison.Ordinal));

        await EcsAsync("update-service", "--cluster", Cluster, "--service", "web", "--desired-count", "0");
        await ServiceTasksRunningAsync(0, exclude: null);
        Assert.Equal("DRAINING", (await EcsAsync("delete-service", "--cluster", Cluster, "--service", "web")).GetProperty("service").GetProperty("status").GetString());
    }

    /// <summary>Kills the container's process behind the agent's back.</summary>
    protected abstract Task KillAsync(string runtimeId);

    /// <summary>Waits until the service has exactly <paramref name="count"/> tasks meant to run, all RUNNING, none of them <paramref name="exclude"/>.</summary>
    protected async Task<List<JsonElement>> ServiceTasksRunningAsync(int count, string? exclude)
    {
        List<JsonElement> tasks = [];
        await WaitAsync(
            async () =>
            {
                var arns = (await EcsAsync("list-tasks", "--cluster", Cluster, "--service-name", "web")).GetProperty("taskArns").EnumerateArray().Select(a => a.GetString()!).ToList();
                tasks = arns.Count == 0 ? [] : (await EcsAsync(["describe-tasks", "--cluster", Cluster, "--tasks", .. arns])).GetProperty("tasks").EnumerateArray().ToList();
                return tasks.Count == count && tasks.All(t => t.GetProperty("lastStatus").GetString() == "RUNNING") && tasks.All(t => t.GetProperty("taskArn").GetString() != exclude);
            },
            $"the service to have {count} running tasks");
        return tasks;
    }

    /// <summary>How many containers the runtime holds for the task, running or not.</summary>
    protected abstract Task<int> ContainerCountAsync(string taskArn);

    private async Task<string> PushBusyboxAsync(string tag = "1")
    {
        var layout = e2e.WorkPath("busybox-image");
        if (!Directory.Exists(layout))
        {
            (await Cli.RunAsync(Path.Combine(Cli.RepositoryRoot, "scripts", "ci", "make-test-image.sh"), ["--busybox", layout])).EnsureSuccess("make-test-image.sh --busybox");
        }

        var image = $"{e2e.Server.HostPort}/e2e/busybox:{tag}";
        (await Cli.RunAsync("skopeo", ["copy", "--dest-tls-verify=false", "--dest-creds", $"admin:{ServerProcess.AdminPassword}", $"oci:{layout}:latest", $"docker://{image}"])).EnsureSuccess("skopeo copy busybox");
        return image;
    }

    /// <summary>The busybox image under another tag: a "new image" to roll a service to.</summary>
    protected Task<string> PushBusyboxAgainAsync(string tag) => PushBusyboxAsync(tag);

    protected async Task<string> RegisterAsync(string name, int memory, string script, string networkMode = "none", int? containerPort = null, string? healthCommand = null, Dictionary<string, string>? logOptions = null, string? image = null, string? taskRoleArn = null, string? executionRoleArn = null)
    {
        var family = $"{name}-{Guid.NewGuid():N}"[..20];
        var ports = containerPort is { } port ? new[] { new { containerPort = port, hostPort = 0 } } : [];
        var healthCheck = healthCommand is null ? null : new { command = new[] { "CMD-SHELL", healthCommand }, interval = 5, timeout = 2, retries = 1 };
        var logConfiguration = logOptions is null ? null : new { logDriver = "json-file", options = logOptions };
        var containers = JsonSerializer.Serialize(
            new[] { new { name = "main", image = image ?? _image, memory, essential = true, entryPoint = Shell, command = new[] { script }, portMappings = ports, healthCheck, logConfiguration } },
            WithoutNulls);
        string[] role = [.. taskRoleArn is null ? [] : new[] { "--task-role-arn", taskRoleArn }, .. executionRoleArn is null ? [] : new[] { "--execution-role-arn", executionRoleArn }];
        await _aws.JsonAsync(_key, ["ecs", "register-task-definition", "--family", family, "--network-mode", networkMode, "--container-definitions", containers, .. role]);
        return family;
    }

    protected string Cluster => _cluster;

    protected Task<JsonElement> EcsAsync(params string[] arguments) => _aws.JsonAsync(_key, ["ecs", .. arguments]);

    protected Task StopAsync(string taskArn) => _aws.JsonAsync(_key, "ecs", "stop-task", "--cluster", _cluster, "--task", taskArn);

    protected async Task<JsonElement> RunAndWaitAsync(string family, string status)
    {
        var run = await _aws.JsonAsync(_key, "ecs", "run-task", "--cluster", _cluster, "--task-definition", family);
        Assert.Empty(run.GetProperty("failures").EnumerateArray());
        return await WaitForStatusAsync(run.GetProperty("tasks")[0].GetProperty("taskArn").GetString()!, status);
    }

    protected Task<JsonElement> WaitForStatusAsync(string taskArn, string status) =>
        WaitForAsync(taskArn, t => t.GetProperty("lastStatus").GetString() == status, $"task {taskArn} to be {status}");

    protected async Task<JsonElement> WaitForAsync(string taskArn, Func<JsonElement, bool> condition, string what)
    {
        JsonElement task = default;
        await WaitAsync(async () => condition(task = await DescribeAsync(taskArn)), what);
        return task;
    }

    private async Task<JsonElement> DescribeAsync(string taskArn) =>
        (await _aws.JsonAsync(_key, "ecs", "describe-tasks", "--cluster", _cluster, "--tasks", taskArn)).GetProperty("tasks")[0];

    protected async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}. Agent log:\n{_agent?.Log}");
            await Task.Delay(500);
        }
    }
}

/// <summary>The Docker runtime against the test engine that scripts/ci/dockerd.sh starts.</summary>
[Collection(EndToEndGroup.Name)]
public sealed class AgentOnDockerTests(EndToEndFixture e2e) : AgentTests(e2e, "docker")
{
    [SkippableFact]
    public async Task Container_logs_are_rotated_by_the_engine()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var family = await RegisterAsync("rotate", 64, "echo rotated");

        var task = await RunAndWaitAsync(family, "STOPPED");

        var runtimeId = task.GetProperty("containers")[0].GetProperty("runtimeId").GetString()!;
        var logConfig = (await Cli.RunAsync("docker", ["inspect", "--format", "{{json .HostConfig.LogConfig}}", runtimeId])).EnsureSuccess("docker inspect").Output;
        Assert.Contains("\"max-size\":\"10m\"", logConfig, StringComparison.Ordinal);
        Assert.Contains("\"max-file\":\"3\"", logConfig, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_bridge_task_reaches_its_credentials_at_169_254_170_2()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var roleArn = await CreatePullerRoleAsync($"bridge-{Cluster}");
        var family = await RegisterAsync("bridge-role", 32,
            // Busybox's static wget cannot resolve without NSS files in the image: nc speaks the HTTP,
            // its input held open until the answer is in.
            "(printf \"GET $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI HTTP/1.0\\r\\nHost: 169.254.170.2\\r\\n\\r\\n\"; /bin/busybox sleep 3) | /bin/busybox nc 169.254.170.2 80; echo; echo fetched; exec /bin/busybox sleep 600",
            networkMode: "bridge", taskRoleArn: roleArn);

        var task = await RunAndWaitAsync(family, "RUNNING");
        var runtimeId = task.GetProperty("containers")[0].GetProperty("runtimeId").GetString()!;
        var logs = "";
        await WaitAsync(async () => (logs = await LogsAsync(runtimeId)).Contains("fetched", StringComparison.Ordinal), "the task to try its credentials");
        Assert.Contains($"\"RoleArn\":\"{roleArn}\"", logs, StringComparison.Ordinal);
        await StopAsync(task.GetProperty("taskArn").GetString()!);
    }

    [SkippableFact]
    public async Task Three_copies_behind_the_load_balancer_survive_a_kill_and_roll_to_a_new_image_without_a_failed_request()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        const string Page = "/bin/busybox hostname > /index.html; exec /bin/busybox httpd -f -p 80 -h /";
        var v1 = await RegisterAsync("lb1", 32, "echo v1 > /v; " + Page, networkMode: "bridge", containerPort: 80);
        var v2 = await RegisterAsync("lb2", 32, "echo v2 > /v; " + Page, networkMode: "bridge", containerPort: 80, image: await PushBusyboxAgainAsync("2"));
        var targetGroup = $"arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{EndToEndFixture.TargetGroup}/0123456789abcdef";
        await EcsAsync("create-service", "--cluster", Cluster, "--service-name", "web", "--task-definition", v1, "--desired-count", "3",
            "--load-balancers", $"targetGroupArn={targetGroup},containerName=main,containerPort=80",
            "--deployment-configuration", "maximumPercent=200,minimumHealthyPercent=100");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var balancer = new Uri($"http://127.0.0.1:{EndToEnd.BalancerPort}/index.html");

        // Three copies on one instance, each on its own dynamic host port, all answering through the balancer.
        var first = await ServiceTasksRunningAsync(3, exclude: null);
        Assert.Equal(3, first.Select(t => t.GetProperty("containers")[0].GetProperty("networkBindings")[0].GetProperty("hostPort").GetInt32()).Distinct().Count());
        var hostnames = first.Select(Hostname).ToHashSet(StringComparer.Ordinal);
        await WaitAsync(async () => hostnames.SetEquals(await AnswersAsync(http, balancer, 30)), "the balancer to route to the three tasks");

        // A killed task is replaced, and the balancer stops sending to it.
        var killed = first[0];
        await KillAsync(killed.GetProperty("containers")[0].GetProperty("runtimeId").GetString()!);
        var replaced = await ServiceTasksRunningAsync(3, exclude: killed.GetProperty("taskArn").GetString());
        var now = replaced.Select(Hostname).ToHashSet(StringComparer.Ordinal);
        await WaitAsync(async () => now.SetEquals(await AnswersAsync(http, balancer, 30)), "the balancer to route to the replacement only");
        await WaitAsync(async () => await RolloutStateAsync() == "COMPLETED", "the deployment to be steady");

        // A rolling update to the new image while requests keep coming: none fails.
        var failures = new List<string>();
        var versions = new List<string>();
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            var version = new Uri(balancer, "/v");
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await http.GetAsync(version);
                    var body = (await response.Content.ReadAsStringAsync()).Trim();
                    (response.IsSuccessStatusCode ? versions : failures).Add(response.IsSuccessStatusCode ? body : $"{(int)response.StatusCode} {body}");
                }
                catch (HttpRequestException e)
                {
                    failures.Add(e.Message);
                }
            }
        });
        await EcsAsync("update-service", "--cluster", Cluster, "--service", "web", "--task-definition", v2);
        await WaitAsync(
            async () => await RolloutStateAsync() == "COMPLETED" && (await ServiceTaskDefinitionsAsync()).All(d => d.Contains(v2, StringComparison.Ordinal)),
            "the service to roll over to the new image");
        await Task.Delay(2000);
        await stop.CancelAsync();
        await load;

        Assert.True(failures.Count == 0, $"{failures.Count} of {failures.Count + versions.Count} requests failed: {string.Join("; ", failures.Take(5))}");
        Assert.Contains("v1", versions);
        Assert.Equal("v2", versions[^1]);
        await EcsAsync("update-service", "--cluster", Cluster, "--service", "web", "--desired-count", "0");
        await ServiceTasksRunningAsync(0, exclude: null);
    }

    /// <summary>The distinct bodies (task hostnames) of <paramref name="count"/> requests through the balancer; failures are not answers.</summary>
    private static async Task<HashSet<string>> AnswersAsync(HttpClient http, Uri balancer, int count)
    {
        var answers = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            using var response = await http.GetAsync(balancer);
            if (response.IsSuccessStatusCode)
            {
                answers.Add((await response.Content.ReadAsStringAsync()).Trim());
            }
        }

        return answers;
    }

    private async Task<string> RolloutStateAsync() =>
        (await EcsAsync("describe-services", "--cluster", Cluster, "--services", "web")).GetProperty("services")[0].GetProperty("deployments")[0].GetProperty("rolloutState").GetString()!;

    /// <summary>The task definitions of the service's tasks that are meant to run.</summary>
    private async Task<List<string>> ServiceTaskDefinitionsAsync()
    {
        var arns = (await EcsAsync("list-tasks", "--cluster", Cluster, "--service-name", "web")).GetProperty("taskArns").EnumerateArray().Select(a => a.GetString()!).ToList();
        return arns.Count == 0 ? [] : (await EcsAsync(["describe-tasks", "--cluster", Cluster, "--tasks", .. arns])).GetProperty("tasks").EnumerateArray()
            .Select(t => t.GetProperty("taskDefinitionArn").GetString()!).ToList();
    }

    private static string Hostname(JsonElement task) => task.GetProperty("containers")[0].GetProperty("runtimeId").GetString()![..12];

    protected override async Task KillAsync(string runtimeId) =>
        (await Cli.RunAsync("docker", ["kill", runtimeId])).EnsureSuccess("docker kill");

    protected override async Task<string> LogsAsync(string runtimeId) =>
        (await Cli.RunAsync("docker", ["logs", runtimeId])).EnsureSuccess("docker logs").Output;

    protected override async Task<int> ContainerCountAsync(string taskArn) =>
        (await Cli.RunAsync("docker", ["ps", "--all", "--quiet", "--filter", $"label=com.amazonaws.ecs.task-arn={taskArn}"])).EnsureSuccess("docker ps")
            .Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
}

/// <summary>The daemonless runtime: the agent pulls and builds the root filesystem, runc runs it under conmon.</summary>
[Collection(EndToEndGroup.Name)]
public sealed class AgentOnRuncTests(EndToEndFixture e2e) : AgentTests(e2e, "runc")
{
    /// <summary>About 30 KB a second for 10 seconds against a 64 KiB max-size: four or more generations, nothing lost in between.</summary>
    [SkippableFact]
    public async Task Container_logs_are_rotated_keeping_max_file_files()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        const string Script = "pad=$(printf '%0100d' 0); i=0; while [ $i -lt 2000 ]; do echo \"line $i $pad\"; i=$((i+1)); [ $((i % 50)) -eq 0 ] && usleep 250000; done; echo done; sleep 3600";
        var family = await RegisterAsync("runc-rotate", 64, Script, logOptions: new() { ["max-size"] = "64k", ["max-file"] = "3" });

        var task = await RunAndWaitAsync(family, "RUNNING");
        var bundle = Path.Combine(DataDirectory, "runc", "containers", task.GetProperty("containers")[0].GetProperty("runtimeId").GetString()!);
        var log = Path.Combine(bundle, "container.log");
        await WaitAsync(() => Task.FromResult(new[] { log, log + ".1" }.Any(f => File.Exists(f) && File.ReadAllText(f).Contains(" done", StringComparison.Ordinal))), "the task to write its last line");

        Assert.True(File.Exists(log + ".2"), "two rotated files are kept");
        Assert.False(File.Exists(log + ".3"), "no more than max-file files are kept");
        var lines = new[] { log + ".2", log + ".1", log }.SelectMany(File.ReadLines)
            .Select(l => l.Split(' ')).Where(f => f is [_, _, _, "line", _, _]).Select(f => int.Parse(f[4], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(1999, lines[^1]);
        Assert.True(lines[0] > 0, "the oldest file rotated out");
        Assert.True(Enumerable.Range(lines[0], lines.Count).SequenceEqual(lines), string.Join("; ", new[] { log + ".2", log + ".1", log }.Select(f => $"{new FileInfo(f).Length} {string.Concat(File.ReadLines(f).First().Take(70))} .. {string.Concat(File.ReadLines(f).Last().Take(70))}")));
        Assert.All(new[] { log + ".2", log + ".1" }, f => Assert.InRange(new FileInfo(f).Length, 60 * 1024, 64 * 1024));
        await StopAsync(task.GetProperty("taskArn").GetString()!);
        await WaitForStatusAsync(task.GetProperty("taskArn").GetString()!, "STOPPED");
    }

    /// <summary>The CNI teardown: the namespace is deleted and portmap's chains for the container are gone.</summary>
    protected override async Task AssertUnpublishedAsync(string runtimeId, int hostPort)
    {
        Assert.DoesNotContain(runtimeId, (await Cli.RunAsync("ip", ["netns", "list"])).EnsureSuccess("ip netns list").Output, StringComparison.Ordinal);
        Assert.DoesNotContain($"--dport {hostPort} ", (await Cli.RunAsync("iptables", ["-t", "nat", "-S"])).EnsureSuccess("iptables -t nat -S").Output, StringComparison.Ordinal);
    }

    protected override async Task KillAsync(string runtimeId) =>
        (await Cli.RunAsync("runc", ["--root", Path.Combine(DataDirectory, "runc", "state"), "kill", runtimeId, "KILL"])).EnsureSuccess("runc kill");

    protected override Task<string> LogsAsync(string runtimeId) =>
        File.ReadAllTextAsync(Path.Combine(DataDirectory, "runc", "containers", runtimeId, "container.log"));

    protected override Task<int> ContainerCountAsync(string taskArn) =>
        Task.FromResult(Directory.EnumerateFiles(Path.Combine(DataDirectory, "runc", "containers"), "task.json", SearchOption.AllDirectories)
            .Count(f => File.ReadAllText(f).Contains(taskArn, StringComparison.Ordinal)));
}
