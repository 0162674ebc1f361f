using System.Text;
using Registry.Agent.Config;
using Registry.Agent.Runtimes;

namespace Registry.Tests.Agent;

public sealed class AgentConfigTests
{
    private static readonly Dictionary<string, string> Minimal = new()
    {
        ["ECS_BACKEND_HOST"] = "http://127.0.0.1:5000",
        ["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLE",
        ["AWS_SECRET_ACCESS_KEY"] = "secret",
    };

    private static AgentConfig With(params (string Key, string Value)[] settings)
    {
        var values = new Dictionary<string, string>(Minimal);
        foreach (var (key, value) in settings)
        {
            values[key] = value;
        }

        return AgentConfig.From(values);
    }

    [Fact]
    public void The_file_format_takes_comments_quotes_and_export()
    {
        var values = AgentConfig.ParseFile(["# the cluster", "", "ECS_CLUSTER=prod", "export ECS_DATADIR=\"/var/lib/agent\"", "ECS_RESERVED_PORTS='[22, 8080]'", "  ECS_LOGLEVEL = info  "]);

        Assert.Equal("prod", values["ECS_CLUSTER"]);
        Assert.Equal("/var/lib/agent", values["ECS_DATADIR"]);
        Assert.Equal("[22, 8080]", values["ECS_RESERVED_PORTS"]);
        Assert.Equal("info", values["ECS_LOGLEVEL"]);
        Assert.Throws<AgentConfigException>(() => AgentConfig.ParseFile(["ECS_CLUSTER"]));
    }

    [Fact]
    public void Defaults_are_the_ecs_agents()
    {
        var config = AgentConfig.From(Minimal);

        Assert.Equal("default", config.Cluster);
        Assert.Equal([22, 2375, 2376, 51678, 51679], config.ReservedPorts);
        Assert.Equal(TimeSpan.FromSeconds(30), config.ContainerStopTimeout);
        Assert.Equal(TimeSpan.FromHours(3), config.TaskCleanupWait);
        Assert.Equal("/var/lib/ecs/data", config.DataDirectory);
        Assert.Equal(["json-file", "none"], config.LoggingDrivers);
        Assert.False(config.TaskIamRoles);
        Assert.Equal(51679, config.CredentialsPort);
        Assert.Equal("172.30.0.0/16", config.RuncBridgeSubnet);
        Assert.Null(config.Runtime);
        Assert.Equal("unix:///var/run/docker.sock", config.DockerEndpoint.ToString().TrimEnd('/'));
    }

    [Fact]
    public void Every_ecs_key_is_read()
    {
        var config = With(
            ("ECS_CLUSTER", "prod"),
            ("ECS_AVAILABLE_LOGGING_DRIVERS", "[\"json-file\",\"syslog\"]"),
            ("ECS_ENABLE_TASK_IAM_ROLE", "true"),
            ("ECS_RESERVED_MEMORY", "256"),
            ("ECS_RESERVED_PORTS", "[22, 9000]"),
            ("ECS_CONTAINER_STOP_TIMEOUT", "1m30s"),
            ("ECS_DATADIR", "/data/ecs"),
            ("ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION", "10m"),
            ("ECS_RUNTIME", "docker"),
            ("ECS_INSTANCE_ATTRIBUTES", "{\"zone\":\"a\"}"),
            ("DOCKER_HOST", "unix:///run/user/docker.sock"),
            ("ECS_CREDENTIALS_PORT", "51700"),
            ("ECS_RUNC_BRIDGE_SUBNET", "10.99.0.0/24"));

        Assert.Equal("prod", config.Cluster);
        Assert.Equal(["json-file", "syslog"], config.LoggingDrivers);
        Assert.True(config.TaskIamRoles);
        Assert.Equal(256, config.ReservedMemory);
        Assert.Equal([22, 9000], config.ReservedPorts);
        Assert.Equal(TimeSpan.FromSeconds(90), config.ContainerStopTimeout);
        Assert.Equal("/data/ecs", config.DataDirectory);
        Assert.Equal(TimeSpan.FromMinutes(10), config.TaskCleanupWait);
        Assert.Equal("docker", config.Runtime);
        Assert.Equal("a", config.Attributes["zone"]);
        Assert.Equal("/run/user/docker.sock", config.DockerEndpoint.AbsolutePath);
        Assert.Equal(51700, config.CredentialsPort);
        Assert.Equal("10.99.0.0/24", config.RuncBridgeSubnet);
    }

    [Fact]
    public void Engine_auth_data_is_read_in_both_formats()
    {
        var docker = With(("ECS_ENGINE_AUTH_TYPE", "docker"), ("ECS_ENGINE_AUTH_DATA", """{"https://registry.example:5000/v1/":{"username":"ci","password":"p@ss:word","email":"ci@example"}}"""));
        var dockercfg = With(("ECS_ENGINE_AUTH_TYPE", "dockercfg"), ("ECS_ENGINE_AUTH_DATA", $$$"""{"127.0.0.1:5000":{"auth":"{{{Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:s3cret:x"))}}}","email":""}}"""));

        Assert.Equal(("ci", "p@ss:word"), docker.Credentials.For("registry.example:5000"));
        Assert.Equal(("admin", "s3cret:x"), dockercfg.Credentials.For("127.0.0.1:5000"));
        Assert.Null(dockercfg.Credentials.For("other.example"));
    }

    [Theory]
    [InlineData("ECS_BACKEND_HOST", "registry:5000")]
    [InlineData("ECS_RUNTIME", "containerd")]
    [InlineData("ECS_RESERVED_MEMORY", "-5")]
    [InlineData("ECS_RESERVED_PORTS", "[0]")]
    [InlineData("ECS_RESERVED_PORTS", "22,80")]
    [InlineData("ECS_CONTAINER_STOP_TIMEOUT", "30")]
    [InlineData("ECS_CONTAINER_STOP_TIMEOUT", "5 minutes")]
    [InlineData("ECS_ENABLE_TASK_IAM_ROLE", "yes")]
    [InlineData("ECS_AVAILABLE_LOGGING_DRIVERS", "json-file")]
    [InlineData("ECS_INSTANCE_ATTRIBUTES", "[1]")]
    [InlineData("DOCKER_HOST", "/var/run/docker.sock")]
    [InlineData("ECS_CREDENTIALS_PORT", "70000")]
    [InlineData("ECS_RUNC_BRIDGE_SUBNET", "10.99.0.0/30")]
    [InlineData("ECS_RUNC_BRIDGE_SUBNET", "fd00::/64")]
    [InlineData("ECS_RUNC_BRIDGE_SUBNET", "bridge")]
    [InlineData("ECS_ENGINE_AUTH_DATA", "{\"host\":{\"username\":\"u\",\"password\":\"p\"}}")]
    public void Bad_values_are_refused_naming_the_key(string key, string value)
    {
        var error = Assert.Throws<AgentConfigException>(() => With((key, value)));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("docker", "{\"host\":{\"username\":\"u\"}}")]
    [InlineData("dockercfg", "{\"host\":{\"auth\":\"not base64!\"}}")]
    [InlineData("dockercfg", "{\"host\":{\"auth\":\"dXNlcg==\"}}")]
    [InlineData("basic", "{\"host\":{\"username\":\"u\",\"password\":\"p\"}}")]
    [InlineData("docker", "[]")]
    [InlineData("docker", "{oops")]
    public void Malformed_auth_data_is_refused(string type, string data) =>
        Assert.Throws<AgentConfigException>(() => With(("ECS_ENGINE_AUTH_TYPE", type), ("ECS_ENGINE_AUTH_DATA", data)));

    [Fact]
    public void Missing_required_keys_are_named()
    {
        var error = Assert.Throws<AgentConfigException>(() => AgentConfig.From(new Dictionary<string, string> { ["ECS_BACKEND_HOST"] = "http://x" }));

        Assert.Contains("AWS_ACCESS_KEY_ID", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("1h2m3s", 3_723_000)]
    [InlineData("1.5s", 1500)]
    public void Go_durations_parse(string text, int milliseconds) =>
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), GoDuration.Parse(text));

    [Theory]
    [InlineData("127.0.0.1:5000/team/app:1", "127.0.0.1:5000", "127.0.0.1:5000/team/app", "1")]
    [InlineData("localhost/app", "localhost", "localhost/app", "latest")]
    [InlineData("busybox", "docker.io", "busybox", "latest")]
    [InlineData("library/busybox:1.36", "docker.io", "library/busybox", "1.36")]
    [InlineData("registry.example/app@sha256:abc", "registry.example", "registry.example/app", "sha256:abc")]
    public void Image_references_name_their_registry(string image, string registry, string repository, string tag) =>
        Assert.Equal(new ImageReference(registry, repository, tag), ImageReference.Parse(image));
}
