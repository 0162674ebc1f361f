using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Registry.Kubernetes;
using Registry.Kubernetes.Manifests;
using Registry.Scheduler.Tasks;
using Registry.Tests.EndToEnd;
using Registry.Tests.Support;

namespace Registry.Tests.Kubernetes;

/// <summary>
/// The manifests the launcher generates: the mapping from ECS task definitions, and their validity
/// against the Kubernetes schema (kubernetes-models' compiled OpenAPI validators, run with node from
/// scripts/ci/node, which the test script installs) with no member the API's own models lack.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly KubernetesOptions Options = new() { Namespace = "apps", ImagePullSecrets = ["pull"] };

    [Fact]
    public void Names_become_dns_labels_and_keep_apart_names_that_would_collide()
    {
        Assert.Equal("web", KubernetesNames.Dns1123("web", 63));
        var underscored = KubernetesNames.Dns1123("Web_App", 63);
        Assert.Matches("^web-app-[0-9a-f]{8}$", underscored);
        Assert.NotEqual(underscored, KubernetesNames.Dns1123("web-app", 63));
        var long255 = KubernetesNames.Dns1123(new string('a', 255), 63);
        Assert.Equal(63, long255.Length);
        Assert.Matches("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", KubernetesNames.Dns1123("__", 63));
        Assert.Equal("0123456789abcdef0123456789abcdef", KubernetesNames.TaskIdOf("01234567-89AB-cdef-0123-456789abcdef"));
    }

    [Fact]
    public void Host_mode_uses_the_host_network_and_a_cmd_check_runs_as_given()
    {
        var spec = PodSpecs.For(Definition("""
            { "networkMode": "host", "containerDefinitions": [ { "name": "app", "image": "busybox", "memoryReservation": 64,
              "portMappings": [ { "containerPort": 9000, "hostPort": 9000, "protocol": "udp" } ],
              "healthCheck": { "command": [ "CMD", "/bin/check", "--fast" ] }, "stopTimeout": 90, "user": "1000:1000", "readonlyRootFilesystem": true } ] }
            """), TaskOverrides.Read(null), null, [], restartAlways: true);
        Assert.True(spec.HostNetwork);
        var container = Assert.Single(spec.Containers);
        Assert.Equal((9000, 9000, "UDP"), (container.Ports[0].ContainerPort, container.Ports[0].HostPort!.Value, container.Ports[0].Protocol));
        Assert.Equal(["/bin/check", "--fast"], container.LivenessProbe.Exec.Command);
        // ECS's defaults for what the check does not say.
        Assert.Equal((30, 5, 3, 0), (container.ReadinessProbe.PeriodSeconds, container.ReadinessProbe.TimeoutSeconds, container.ReadinessProbe.FailureThreshold, container.ReadinessProbe.InitialDelaySeconds));
        Assert.Equal(90, spec.TerminationGracePeriodSeconds);
        Assert.Equal((1000L, 1000L, true), (container.SecurityContext.RunAsUser!.Value, container.SecurityContext.RunAsGroup!.Value, container.SecurityContext.ReadOnlyRootFilesystem!.Value));
        // A reservation is a request only.
        Assert.Equal("64Mi", container.Resources.Requests["memory"].ToString());
        Assert.Null(container.Resources.Limits);
        Assert.False(spec.AutomountServiceAccountToken);
    }

    [Fact]
    public void Overrides_replace_the_command_and_the_task_size()
    {
        var overrides = TaskOverrides.Read(System.Text.Json.JsonDocument.Parse("""
            { "cpu": "2048", "memory": "4096", "containerOverrides": [ { "name": "app", "command": [ "serve", "--port", "1" ] } ] }
            """).RootElement);
        var container = PodSpecs.For(Definition("""
            { "cpu": "256", "memory": "512", "containerDefinitions": [ { "name": "app", "image": "busybox", "command": [ "old" ] } ] }
            """), overrides, null, [], restartAlways: false).Containers[0];
        Assert.Equal(["serve", "--port", "1"], container.Args);
        // 2048 units are two cores; quantities print canonically.
        Assert.Equal(("2", "2", "4Gi", "4Gi"), (container.Resources.Requests["cpu"].ToString(), container.Resources.Limits["cpu"].ToString(), container.Resources.Requests["memory"].ToString(), container.Resources.Limits["memory"].ToString()));
    }

    [Theory]
    [InlineData("""{ "containerDefinitions": [ { "name": "app", "image": "x", "secrets": [ { "name": "A", "valueFrom": "arn:aws:ssm:::parameter/a" } ] } ] }""", "secrets")]
    [InlineData("""{ "containerDefinitions": [ { "name": "app", "image": "x", "dependsOn": [ { "containerName": "b", "condition": "START" } ] } ] }""", "dependsOn")]
    [InlineData("""{ "containerDefinitions": [ { "name": "app", "image": "x", "linuxParameters": { "initProcessEnabled": true } } ] }""", "linuxParameters")]
    [InlineData("""{ "containerDefinitions": [ { "name": "app", "image": "x", "user": "www-data" } ] }""", "numeric")]
    [InlineData("""{ "containerDefinitions": [ { "name": "app", "image": "x", "healthCheck": { "command": [ "NONE", "x" ] } } ] }""", "CMD")]
    [InlineData("""{ "containerDefinitions": [ { "name": "app", "image": "x", "environment": [ { "name": "1BAD", "value": "x" } ] } ] }""", "1BAD")]
    [InlineData("""{ "containerDefinitions": [ { "name": "app", "image": "x", "memory": 64, "memoryReservation": 128 } ] }""", "memoryReservation")]
    [InlineData("""{ "volumes": [ { "name": "data" } ], "containerDefinitions": [ { "name": "app", "image": "x" } ] }""", "volumes")]
    [InlineData("""{ "pidMode": "task", "containerDefinitions": [ { "name": "app", "image": "x" } ] }""", "pidMode")]
    [InlineData("""{ "networkMode": "none", "containerDefinitions": [ { "name": "app", "image": "x" } ] }""", "none")]
    [InlineData("""{ "memory": "512", "containerDefinitions": [ { "name": "a", "image": "x", "memory": 512 }, { "name": "b", "image": "x" } ] }""", "leaves nothing")]
    public void What_a_pod_cannot_express_is_refused_with_the_member_named(string definition, string named)
    {
        var refused = Assert.Throws<KubernetesManifestException>(() => PodSpecs.For(Definition(definition), TaskOverrides.Read(null), null, [], restartAlways: false));
        Assert.Contains(named, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pod_reports_running_from_its_essential_containers_a_crash_loop_as_an_exit_and_a_failing_check_as_unhealthy()
    {
        var now = DateTime.UtcNow;
        var containers = new List<TaskContainer> { new() { Name = "web", Image = "x" }, new() { Name = "migrate", Image = "x", Essential = false } };
        var probe = new V1Probe { PeriodSeconds = 10, FailureThreshold = 3, TimeoutSeconds = 5 };
        V1Pod Pod(params V1ContainerStatus[] statuses) => new()
        {
            Metadata = new V1ObjectMeta { Name = "p" },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "web", ReadinessProbe = probe }, new V1Container { Name = "migrate" }] },
            Status = new V1PodStatus { Phase = "Running", ContainerStatuses = statuses },
        };
        var migrated = new V1ContainerStatus { Name = "migrate", State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 0, Reason = "Completed" } } };

        // A non-essential container that has finished does not hold the task back.
        var running = PodReports.Of(Pod(Running(now.AddSeconds(-5), ready: true), migrated), containers, now);
        Assert.Equal(TaskStatuses.Running, running.Status);
        Assert.Equal("HEALTHY", running.Containers[0].HealthStatus);

        // Not ready: UNKNOWN within the check's allowance (10 s × 3 + 5 s), UNHEALTHY after it.
        Assert.Equal("UNKNOWN", PodReports.Of(Pod(Running(now.AddSeconds(-20), ready: false), migrated), containers, now).Containers[0].HealthStatus);
        Assert.Equal("UNHEALTHY", PodReports.Of(Pod(Running(now.AddSeconds(-60), ready: false), migrated), containers, now).Containers[0].HealthStatus);

        var crashing = new V1ContainerStatus
        {
            Name = "web",
            RestartCount = 2,
            State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "CrashLoopBackOff" } },
            LastState = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 137, Reason = "OOMKilled" } },
        };
        var crashed = PodReports.Of(Pod(crashing, migrated), containers, now).Containers[0];
        Assert.Equal((TaskStatuses.Stopped, 137, "OOMKilled"), (crashed.Status, crashed.ExitCode!.Value, crashed.Reason));
    }

    private static V1ContainerStatus Running(DateTime startedAt, bool ready) =>
        new() { Name = "web", Ready = ready, State = new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = startedAt } } };

    [SkippableFact]
    public async Task Every_generated_manifest_is_valid_against_the_kubernetes_schema_and_has_no_unknown_member()
    {
        var validator = Path.Combine(Cli.RepositoryRoot, "scripts", "ci", "node", "validate-kubernetes.mjs");
        var installed = Directory.Exists(Path.Combine(Cli.RepositoryRoot, "scripts", "ci", "node", "node_modules", "kubernetes-models"));
        Skip.If(!installed && !EndToEndFixture.Enabled, "the Kubernetes schemas are installed by scripts/test.sh (npm ci in scripts/ci/node)");
        Assert.True(installed, "scripts/ci/node/node_modules/kubernetes-models is missing: scripts/test.sh installs it");

        var manifests = Generated().ToList();
        // Strict as kubeconform -strict: a member the API's models do not have would be dropped by this round trip.
        foreach (var manifest in manifests)
        {
            var json = KubernetesJson.Serialize(manifest);
            var again = manifest switch
            {
                V1Pod pod => RoundTrip(pod),
                V1Deployment rollout => RoundTrip(rollout),
                V1Service service => RoundTrip(service),
                V1ServiceAccount account => RoundTrip(account),
                _ => throw new InvalidOperationException(manifest.Kind),
            };
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(json), JsonNode.Parse(again)), json);
        }

        var file = Path.Combine(Path.GetTempPath(), $"manifests-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, "[" + string.Join(",", manifests.Select(m => KubernetesJson.Serialize(m))) + "]");
        var valid = await Cli.RunAsync("node", [validator, file]);
        Assert.True(valid.ExitCode == 0, valid.Output + valid.Error);
        Assert.Contains($"{manifests.Count} of {manifests.Count} manifests valid", valid.Output, StringComparison.Ordinal);

        // The validator can fail: a port as a string and a Deployment without a selector are caught.
        var broken = JsonNode.Parse(KubernetesJson.Serialize(manifests[0]))!;
        broken["spec"]!["containers"]![0]!["ports"] = JsonNode.Parse("""[ { "containerPort": "80" } ]""");
        var deployment = JsonNode.Parse(KubernetesJson.Serialize(manifests.OfType<V1Deployment>().First()))!;
        deployment["spec"]!.AsObject().Remove("selector");
        await File.WriteAllTextAsync(file, new JsonArray(broken, deployment).ToJsonString());
        var invalid = await Cli.RunAsync("node", [validator, file]);
        File.Delete(file);
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("/spec/containers/0/ports/0/containerPort", invalid.Output, StringComparison.Ordinal);
        Assert.Contains("missingProperty\":\"selector", invalid.Output, StringComparison.Ordinal);
    }

    /// <summary>A Pod, a Deployment, a Service and a ServiceAccount for definitions using every mapped member.</summary>
    private static IEnumerable<IKubernetesObject<V1ObjectMeta>> Generated()
    {
        var full = Definition("""
            { "cpu": "1024", "memory": "2048", "taskRoleArn": "arn:aws:iam::000000000000:role/App_Role", "networkMode": "bridge",
              "containerDefinitions": [
                { "name": "web_server", "image": "localhost:5000/web:v1", "cpu": 512, "memory": 512, "memoryReservation": 256, "essential": true,
                  "entryPoint": [ "/bin/httpd" ], "command": [ "-f" ], "workingDirectory": "/srv", "user": "33",
                  "environment": [ { "name": "MODE", "value": "prod" } ], "privileged": false, "readonlyRootFilesystem": true, "stopTimeout": 45,
                  "portMappings": [ { "containerPort": 8080, "hostPort": 0, "protocol": "tcp" }, { "containerPort": 8125, "protocol": "udp" } ],
                  "healthCheck": { "command": [ "CMD-SHELL", "wget -q -O- localhost:8080" ], "interval": 10, "timeout": 3, "retries": 2, "startPeriod": 20 } },
                { "name": "log", "image": "busybox", "essential": false } ] }
            """);
        var host = Definition("""{ "networkMode": "host", "containerDefinitions": [ { "name": "agent", "image": "busybox", "memory": 64, "portMappings": [ { "containerPort": 9100 } ] } ] }""");
        var workload = new ServiceWorkload(7, "Web_App", "ecs-svc/1234567890123456789", 3, 2, 50, 200);
        yield return WorkloadManifests.TaskPod("0123456789abcdef0123456789abcdef", 3, full, TaskOverrides.Read(null), Options);
        yield return WorkloadManifests.TaskPod("fedcba9876543210fedcba9876543210", 4, host, TaskOverrides.Read(null), Options);
        yield return WorkloadManifests.ServiceDeployment(workload, full, Options);
        yield return WorkloadManifests.ServicePorts(workload, full, Options)!;
        yield return WorkloadManifests.ServiceAccount("arn:aws:iam::000000000000:role/App_Role", Options);
    }

    private static string RoundTrip<T>(T manifest) => KubernetesJson.Serialize(KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(manifest)));

    private static JsonObject Definition(string json) => JsonNode.Parse(json)!.AsObject();
}
