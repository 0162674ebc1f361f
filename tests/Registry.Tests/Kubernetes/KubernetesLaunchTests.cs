using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using k8s.Models;
using Registry.Tests.Support;

namespace Registry.Tests.Kubernetes;

/// <summary>
/// The KUBERNETES launch type against a Kubernetes API (<see cref="FakeKubernetesApi"/>, no cluster runs
/// here) with the real AWS-shaped API in process: RunTask makes a Pod with the task definition's
/// resources, probes, command and environment, and the task follows the Pod through the watch;
/// CreateService makes a Deployment, a Service and the task role's ServiceAccount, and its tasks are the
/// Deployment's Pods through a rolling update, a scale-out and a delete.
/// </summary>
public sealed class KubernetesLaunchTests(KubernetesRegistryFixture registry) : IClassFixture<KubernetesRegistryFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private static readonly string[] EntryPoint = ["/bin/httpd"];
    private static readonly string[] Command = ["-f", "-p", "8080"];
    private static readonly string[] ShellCheck = ["CMD-SHELL", "wget -q -O- localhost:8080"];
    private static readonly string[] ExecCheck = ["CMD", "/bin/true"];
    private static readonly string[] WebApp = ["Web_App"];

    private AwsJsonTestClient _ecs = null!;
    private string _cluster = null!;

    private FakeKubernetesApi Cluster => registry.Cluster;

    public async Task InitializeAsync()
    {
        var session = await EcsTestSession.StartAsync(registry, "k8s-");
        (_ecs, _cluster) = (session.Ecs, session.Cluster);
    }

    public Task DisposeAsync()
    {
        Assert.Equal(0, Cluster.Unauthorized);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_task_runs_as_a_pod_with_its_resources_and_probes_and_stops_when_its_essential_container_exits()
    {
        var family = await RegisterAsync(new
        {
            cpu = "512",
            memory = "1024",
            containerDefinitions = new object[]
            {
                new
                {
                    name = "web_server",
                    image = "localhost/k8s/web:v1",
                    cpu = 256,
                    memory = 256,
                    entryPoint = EntryPoint,
                    command = Command,
                    environment = new[] { new { name = "MODE", value = "definition" }, new { name = "KEEP", value = "kept" } },
                    portMappings = new[] { new { containerPort = 8080 } },
                    healthCheck = new { command = ShellCheck, interval = 10, timeout = 2, retries = 4, startPeriod = 5 },
                },
                new { name = "sidecar", image = "localhost/k8s/side:v1", essential = false },
            },
        });

        var (status, run) = await _ecs.CallAsync("RunTask", new
        {
            cluster = _cluster,
            taskDefinition = family,
            launchType = "KUBERNETES",
            overrides = new { containerOverrides = new[] { new { name = "web_server", environment = new[] { new { name = "MODE", value = "override" } } } } },
        });
        Assert.True(status == 200, run.ToString());
        var task = run.GetProperty("tasks")[0];
        Assert.Equal("KUBERNETES", task.GetProperty("launchType").GetString());
        Assert.False(task.TryGetProperty("containerInstanceArn", out _));
        var taskId = task.GetProperty("taskArn").GetString()!.Split('/')[^1];

        var pod = await EventuallyAsync(() => Cluster.Pods().FirstOrDefault(p => p.Metadata.Name == "ecs-task-" + taskId));
        Assert.Equal(KubernetesRegistryFixture.Namespace, pod.Metadata.NamespaceProperty);
        Assert.Equal(taskId, pod.Metadata.Labels["registry.ecs/task-id"]);
        Assert.Equal("Never", pod.Spec.RestartPolicy);
        Assert.Equal("registry-login", Assert.Single(pod.Spec.ImagePullSecrets).Name);
        var web = pod.Spec.Containers[0];
        Assert.StartsWith("web-server-", web.Name, StringComparison.Ordinal);
        Assert.Equal(["/bin/httpd"], web.Command);
        Assert.Equal(["-f", "-p", "8080"], web.Args);
        Assert.Equal(["MODE=override", "KEEP=kept"], web.Env.Select(e => $"{e.Name}={e.Value}").Order().Reverse());
        Assert.Equal(8080, Assert.Single(web.Ports).ContainerPort);
        // 256 cpu units are a quarter core, requested; 256 MiB a hard limit.
        Assert.Equal("250m", web.Resources.Requests["cpu"].ToString());
        Assert.False(web.Resources.Limits.ContainsKey("cpu"));
        Assert.Equal("256Mi", web.Resources.Limits["memory"].ToString());
        // The sidecar shares what the task-level size leaves: 256 units and 768 MiB, as request and limit.
        var sidecar = pod.Spec.Containers[1].Resources;
        Assert.Equal(("250m", "250m", "768Mi", "768Mi"), (sidecar.Requests["cpu"].ToString(), sidecar.Limits["cpu"].ToString(), sidecar.Requests["memory"].ToString(), sidecar.Limits["memory"].ToString()));
        Assert.Equal(["/bin/sh", "-c", "wget -q -O- localhost:8080"], web.ReadinessProbe.Exec.Command);
        Assert.Equal((10, 2, 4, 5), (web.ReadinessProbe.PeriodSeconds, web.ReadinessProbe.TimeoutSeconds, web.ReadinessProbe.FailureThreshold, web.ReadinessProbe.InitialDelaySeconds));
        Assert.Null(web.LivenessProbe);

        var running = await TaskEventuallyAsync(taskId, t => t.GetProperty("lastStatus").GetString() == "RUNNING");
        var container = running.GetProperty("containers").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "web_server");
        Assert.Equal("HEALTHY", container.GetProperty("healthStatus").GetString());
        var binding = container.GetProperty("networkBindings")[0];
        Assert.Equal((pod.Status.PodIP, 8080), (binding.GetProperty("bindIP").GetString(), binding.GetProperty("containerPort").GetInt32()));

        // Only the watch tells the control plane (the resync is ten minutes away).
        Cluster.Exit(pod.Metadata.Name, web.Name, 3);
        var stopped = await TaskEventuallyAsync(taskId, t => t.GetProperty("lastStatus").GetString() == "STOPPED");
        Assert.Equal("EssentialContainerExited", stopped.GetProperty("stopCode").GetString());
        Assert.Equal(3, stopped.GetProperty("containers").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "web_server").GetProperty("exitCode").GetInt32());
        await EventuallyAsync(() => Cluster.Pods().All(p => p.Metadata.Name != pod.Metadata.Name) ? "gone" : null);
    }

    [Fact]
    public async Task StopTask_deletes_the_pod_and_the_task_stops_as_the_user_asked()
    {
        // Another installation's Pod in the same namespace, with the same managed-by label: not ours to touch.
        var foreign = "ecs-task-" + Guid.NewGuid().ToString("N");
        Cluster.AddPod(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = foreign, Labels = new Dictionary<string, string> { ["app.kubernetes.io/managed-by"] = "registry", ["registry.ecs/installation"] = "other" } },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "app", Image = "busybox" }] },
        });
        var family = await RegisterAsync(new { containerDefinitions = new[] { new { name = "app", image = "localhost/k8s/app:v1", memory = 64 } } });
        var taskId = await RunAsync(family);
        await TaskEventuallyAsync(taskId, t => t.GetProperty("lastStatus").GetString() == "RUNNING");

        var (status, body) = await _ecs.CallAsync("StopTask", new { cluster = _cluster, task = taskId, reason = "done here" });
        Assert.True(status == 200, body.ToString());
        var stopped = await TaskEventuallyAsync(taskId, t => t.GetProperty("lastStatus").GetString() == "STOPPED");
        Assert.Equal(("UserInitiated", "done here"), (stopped.GetProperty("stopCode").GetString(), stopped.GetProperty("stoppedReason").GetString()));
        Assert.DoesNotContain(Cluster.Pods(), p => p.Metadata.Name == "ecs-task-" + taskId);
        Assert.Contains(Cluster.Pods(), p => p.Metadata.Name == foreign && p.Metadata.DeletionTimestamp is null);
    }

    [Fact]
    public async Task An_image_that_cannot_be_pulled_fails_the_task_and_its_pod_goes()
    {
        var family = await RegisterAsync(new { containerDefinitions = new[] { new { name = "app", image = "localhost/k8s/missing:v1", memory = 64 } } });
        var taskId = await RunAsync(family);
        var stopped = await TaskEventuallyAsync(taskId, t => t.GetProperty("lastStatus").GetString() == "STOPPED");
        Assert.Equal("TaskFailedToStart", stopped.GetProperty("stopCode").GetString());
        Assert.StartsWith("CannotPullContainerError:", stopped.GetProperty("stoppedReason").GetString(), StringComparison.Ordinal);
        await EventuallyAsync(() => Cluster.Pods().All(p => p.Metadata.Name != "ecs-task-" + taskId) ? "gone" : null);
    }

    [Fact]
    public async Task A_service_is_a_deployment_behind_a_service_and_rolls_scales_and_goes_with_it()
    {
        var role = "k8s-app-" + Guid.NewGuid().ToString("N")[..8];
        await CreateTaskRoleAsync(role);
        var roleArn = $"arn:aws:iam::000000000000:role/{role}";
        var family = "svc-" + Guid.NewGuid().ToString("N")[..8];
        await RegisterAsync(Service(roleArn, "v1"), family);
        var (status, created) = await _ecs.CallAsync("CreateService", new
        {
            cluster = _cluster,
            serviceName = "Web_App",
            taskDefinition = family,
            desiredCount = 2,
            launchType = "KUBERNETES",
            deploymentConfiguration = new { minimumHealthyPercent = 50, maximumPercent = 200 },
        });
        Assert.True(status == 200, created.ToString());
        var serviceId = created.GetProperty("service").GetProperty("serviceArn").GetString()!;

        var deployment = await EventuallyAsync(() => Cluster.Deployments().FirstOrDefault(d => d.Metadata.Name.StartsWith("ecs-web-app-", StringComparison.Ordinal)));
        var name = deployment.Metadata.Name;
        Assert.Equal(2, deployment.Spec.Replicas);
        Assert.Equal(("RollingUpdate", "100%", "50%"), (deployment.Spec.Strategy.Type, deployment.Spec.Strategy.RollingUpdate.MaxSurge.Value, deployment.Spec.Strategy.RollingUpdate.MaxUnavailable.Value));
        var template = deployment.Spec.Template.Spec;
        Assert.Equal("Always", template.RestartPolicy);
        Assert.Equal("ecs-role-" + role, template.ServiceAccountName);
        Assert.NotNull(template.Containers[0].LivenessProbe);
        Assert.Equal(roleArn, Cluster.ServiceAccount("ecs-role-" + role)!.Metadata.Annotations["eks.amazonaws.com/role-arn"]);
        var ports = await EventuallyAsync(() => Cluster.Service(name));
        Assert.Equal(deployment.Spec.Selector.MatchLabels, ports.Spec.Selector);
        Assert.Equal(("tcp-8080", 8080, "TCP"), (ports.Spec.Ports[0].Name, ports.Spec.Ports[0].Port, ports.Spec.Ports[0].Protocol));

        var steady = await ServiceEventuallyAsync(s => s.GetProperty("runningCount").GetInt32() == 2 && Rollout(s) == "COMPLETED");
        Assert.Equal("KUBERNETES", steady.GetProperty("launchType").GetString());
        var firstTasks = await ServiceTasksAsync();
        Assert.Equal(2, firstTasks.Count);

        // A new revision: the Deployment's template changes, its Pods are replaced, the old tasks stop.
        var clusterIp = ports.Spec.ClusterIP;
        var (updateStatus, updated) = await _ecs.CallAsync("UpdateService", new { cluster = _cluster, service = "Web_App", taskDefinition = await RegisterAsync(Service(roleArn, "v2", port: 9090), family) });
        Assert.True(updateStatus == 200, updated.ToString());
        await EventuallyAsync(() => Cluster.Deployment(name)!.Spec.Template.Spec.Containers[0].Image.EndsWith(":v2", StringComparison.Ordinal) ? "rolled" : null);
        var rolled = await ServiceEventuallyAsync(s => Rollout(s) == "COMPLETED" && s.GetProperty("deployments").GetArrayLength() == 1 && s.GetProperty("runningCount").GetInt32() == 2);
        Assert.EndsWith($"{family}:2", rolled.GetProperty("taskDefinition").GetString(), StringComparison.Ordinal);
        var secondTasks = await ServiceTasksAsync();
        Assert.Equal(2, secondTasks.Count);
        Assert.Empty(secondTasks.Intersect(firstTasks));
        // Replaced Pods are deleted gracefully (their containers exit 143): the tasks stopped because they were replaced.
        var old = await DescribeAsync(firstTasks[0]);
        Assert.Equal(("STOPPED", "ServiceSchedulerInitiated"), (old.GetProperty("lastStatus").GetString(), old.GetProperty("stopCode").GetString()));
        Assert.Equal(0, rolled.GetProperty("deployments")[0].GetProperty("failedTasks").GetInt32());
        // The Service follows the new port and keeps the cluster IP Kubernetes gave it (the API refuses changing it).
        var moved = await EventuallyAsync(() => Cluster.Service(name) is { } s && s.Spec.Ports[0].Port == 9090 ? s : null);
        Assert.Equal(clusterIp, moved.Spec.ClusterIP);

        // A container that crashes is a stopped task, replaced by the Deployment.
        var crashedPod = Cluster.Pods().First(p => p.Metadata.Labels.ContainsKey("registry.ecs/service-id") && p.Metadata.DeletionTimestamp is null);
        var crashedTask = crashedPod.Metadata.Uid.Replace("-", "", StringComparison.Ordinal);
        Cluster.Exit(crashedPod.Metadata.Name, crashedPod.Spec.Containers[0].Name, 2);
        var crashed = await TaskEventuallyAsync(crashedTask, t => t.GetProperty("lastStatus").GetString() == "STOPPED");
        Assert.Equal(("EssentialContainerExited", 2), (crashed.GetProperty("stopCode").GetString(), crashed.GetProperty("containers")[0].GetProperty("exitCode").GetInt32()));
        await ServiceEventuallyAsync(s => s.GetProperty("runningCount").GetInt32() == 2);
        Assert.DoesNotContain(crashedTask, await ServiceTasksAsync());

        Assert.Equal(200, (await _ecs.CallAsync("UpdateService", new { cluster = _cluster, service = "Web_App", desiredCount = 3 })).Status);
        await EventuallyAsync(() => Cluster.Deployment(name)!.Spec.Replicas == 3 ? "scaled" : null);
        await ServiceEventuallyAsync(s => s.GetProperty("runningCount").GetInt32() == 3);

        var (deleteStatus, deleted) = await _ecs.CallAsync("DeleteService", new { cluster = _cluster, service = serviceId, force = true });
        Assert.True(deleteStatus == 200, deleted.ToString());
        await EventuallyAsync(() => Cluster.Deployment(name) is null && Cluster.Service(name) is null ? "gone" : null);
        await ServiceEventuallyAsync(s => s.GetProperty("status").GetString() == "INACTIVE");
        Assert.Empty(await ServiceTasksAsync());
    }

    [Fact]
    public async Task What_a_pod_cannot_express_is_refused_at_the_call()
    {
        var mounts = await RegisterAsync(new
        {
            volumes = new[] { new { name = "data", host = new { sourcePath = "/srv" } } },
            containerDefinitions = new[] { new { name = "app", image = "localhost/k8s/app:v1", memory = 64, mountPoints = new[] { new { sourceVolume = "data", containerPath = "/data" } } } },
        });
        var (status, refused) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = mounts, launchType = "KUBERNETES" });
        Assert.Equal((400, "ClientException"), (status, refused.GetProperty("__type").GetString()));
        Assert.Contains("mountPoints", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("ClientException", (await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "mounts", taskDefinition = mounts, desiredCount = 1, launchType = "KUBERNETES" })).Body.GetProperty("__type").GetString());

        var named = await RegisterAsync(new { containerDefinitions = new[] { new { name = "app", image = "localhost/k8s/app:v1", memory = 64, user = "nobody" } } });
        var (_, user) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = named, launchType = "KUBERNETES" });
        Assert.Equal("ClientException", user.GetProperty("__type").GetString());
        Assert.Contains("numeric", user.GetProperty("message").GetString(), StringComparison.Ordinal);

        var plain = await RegisterAsync(new { containerDefinitions = new[] { new { name = "app", image = "localhost/k8s/app:v1", memory = 64 } } });
        var (_, placed) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = plain, launchType = "KUBERNETES", placementStrategy = new[] { new { type = "random" } } });
        Assert.Equal("InvalidParameterException", placed.GetProperty("__type").GetString());
        var (_, constrained) = await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "placed", taskDefinition = plain, desiredCount = 1, launchType = "KUBERNETES", placementConstraints = new[] { new { type = "distinctInstance" } } });
        Assert.Equal("InvalidParameterException", constrained.GetProperty("__type").GetString());

        var (_, rigid) = await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "rigid", taskDefinition = plain, desiredCount = 1, launchType = "KUBERNETES", deploymentConfiguration = new { minimumHealthyPercent = 100, maximumPercent = 100 } });
        Assert.Equal("InvalidParameterException", rigid.GetProperty("__type").GetString());

        // Nothing of it reached the cluster.
        Assert.DoesNotContain(Cluster.Deployments(), d => d.Metadata.Name.StartsWith("ecs-mounts-", StringComparison.Ordinal) || d.Metadata.Name.StartsWith("ecs-placed-", StringComparison.Ordinal) || d.Metadata.Name.StartsWith("ecs-rigid-", StringComparison.Ordinal));
        Assert.Equal(0, (await _ecs.CallAsync("ListTasks", new { cluster = _cluster, launchType = "KUBERNETES" })).Body.GetProperty("taskArns").GetArrayLength());
    }

    private static object Service(string roleArn, string tag, int port = 8080) => new
    {
        taskRoleArn = roleArn,
        containerDefinitions = new[]
        {
            new
            {
                name = "web",
                image = "localhost/k8s/web:" + tag,
                memory = 128,
                portMappings = new[] { new { containerPort = port, hostPort = 0 } },
                healthCheck = new { command = ExecCheck },
            },
        },
    };

    private async Task CreateTaskRoleAsync(string role)
    {
        using var response = await registry.CreateClient().PostAsJsonAsync("/admin/v1/roles", new
        {
            name = role,
            trustPolicy = JsonSerializer.Serialize(new { Version = "2012-10-17", Statement = new[] { new { Effect = "Allow", Principal = new { Service = "ecs-tasks.amazonaws.com" }, Action = "sts:AssumeRole" } } }),
        });
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> RegisterAsync(object definition, string? family = null)
    {
        family ??= "k8s-" + Guid.NewGuid().ToString("N")[..8];
        var document = JsonSerializer.SerializeToNode(definition)!.AsObject();
        document["family"] = family;
        var (status, body) = await _ecs.CallAsync("RegisterTaskDefinition", document);
        Assert.True(status == 200, body.ToString());
        return $"{family}:{body.GetProperty("taskDefinition").GetProperty("revision").GetInt32()}";
    }

    private async Task<string> RunAsync(string family)
    {
        var (status, run) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family, launchType = "KUBERNETES" });
        Assert.True(status == 200, run.ToString());
        return run.GetProperty("tasks")[0].GetProperty("taskArn").GetString()!.Split('/')[^1];
    }

    private async Task<JsonElement> DescribeAsync(string taskId)
    {
        var (_, body) = await _ecs.CallAsync("DescribeTasks", new { cluster = _cluster, tasks = new[] { taskId } });
        return body.GetProperty("tasks")[0];
    }

    private async Task<List<string>> ServiceTasksAsync()
    {
        var (_, body) = await _ecs.CallAsync("ListTasks", new { cluster = _cluster, serviceName = "Web_App" });
        return body.GetProperty("taskArns").EnumerateArray().Select(a => a.GetString()!.Split('/')[^1]).Order().ToList();
    }

    private static string? Rollout(JsonElement service) => service.GetProperty("deployments")[0].GetProperty("rolloutState").GetString();

    private Task<JsonElement> TaskEventuallyAsync(string taskId, Func<JsonElement, bool> condition) =>
        EventuallyAsync(async () =>
        {
            var task = await DescribeAsync(taskId);
            return (condition(task), task);
        });

    private Task<JsonElement> ServiceEventuallyAsync(Func<JsonElement, bool> condition) =>
        EventuallyAsync(async () =>
        {
            var (_, body) = await _ecs.CallAsync("DescribeServices", new { cluster = _cluster, services = WebApp });
            var service = body.GetProperty("services").EnumerateArray().LastOrDefault();
            return (service.ValueKind == JsonValueKind.Object && condition(service), service);
        });

    private static Task<T> EventuallyAsync<T>(Func<T?> probe)
        where T : class =>
        EventuallyAsync(() => Task.FromResult(probe() is { } value ? (true, value) : (false, default(T)!)));

    /// <summary>Polls until the probe says done: the cluster and the control plane converge asynchronously.</summary>
    private static async Task<T> EventuallyAsync<T>(Func<Task<(bool Done, T Value)>> probe)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var (done, value) = await probe();
            if (done)
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The cluster and the control plane did not get there in time; last seen: {value}");
            await Task.Delay(100);
        }
    }
}
