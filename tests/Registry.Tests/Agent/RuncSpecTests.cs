using System.Text.Json.Nodes;
using Registry.Agent.Runtimes;

namespace Registry.Tests.Agent;

public sealed class RuncSpecTests : IDisposable
{
    private readonly string _rootfs = Directory.CreateTempSubdirectory("rootfs-").FullName;

    public RuncSpecTests()
    {
        Directory.CreateDirectory(Path.Combine(_rootfs, "etc"));
        File.WriteAllLines(Path.Combine(_rootfs, "etc/passwd"), ["root:x:0:0:root:/root:/bin/sh", "app:x:1000:1001:app:/home/app:/bin/sh"]);
        File.WriteAllLines(Path.Combine(_rootfs, "etc/group"), ["root:x:0:", "web:x:33:", "app:x:1001:"]);
    }

    public void Dispose() => Directory.Delete(_rootfs, recursive: true);

    private static ContainerSpec Spec(IReadOnlyList<string>? entryPoint = null, IReadOnlyList<string>? command = null, string networkMode = "none", string? user = null) =>
        new("c", "arn:aws:ecs:us-east-1:000000000000:task/c/abc", "main", "img", entryPoint, command,
            new Dictionary<string, string> { ["MODE"] = "task" }, 64, 32, 256, networkMode, [], null, user, null, new Dictionary<string, string>());

    private static readonly JsonObject Image = JsonNode.Parse("""{"config":{"Entrypoint":["/bin/app"],"Cmd":["--serve"],"Env":["PATH=/usr/bin","MODE=image","KEEP=1"],"WorkingDir":"/srv"}}""")!.AsObject();

    [Theory]
    [InlineData(null, 0, 0)]
    [InlineData("1000", 1000, 1001)]
    [InlineData("app", 1000, 1001)]
    [InlineData("app:web", 1000, 33)]
    [InlineData("2000:33", 2000, 33)]
    public void Users_are_resolved_in_the_images_own_files(string? user, long uid, long gid) =>
        Assert.Equal((uid, gid), RuncSpec.User(user, _rootfs));

    [Theory]
    [InlineData("nobody")]
    [InlineData("app:nogroup")]
    public void Unknown_users_and_groups_are_refused(string user) =>
        Assert.Throws<ImagePullException>(() => RuncSpec.User(user, _rootfs));

    [Fact]
    public void The_task_overrides_the_image_and_limits_apply()
    {
        var spec = RuncSpec.Create("host", Spec(command: ["--once"]), Image, 512, _rootfs);

        var process = spec["process"]!;
        Assert.Equal(["/bin/app", "--once"], process["args"]!.AsArray().Select(a => (string)a!));
        var env = process["env"]!.AsArray().Select(e => (string)e!).ToList();
        Assert.Contains("MODE=task", env);
        Assert.Contains("KEEP=1", env);
        Assert.Equal("/srv", (string)process["cwd"]!);
        Assert.False((bool)process["terminal"]!);
        Assert.Equal(512, (int)process["rlimits"]![0]!["hard"]!);
        Assert.Equal(64L * 1024 * 1024, (long)spec["linux"]!["resources"]!["memory"]!["limit"]!);
        Assert.Equal(32L * 1024 * 1024, (long)spec["linux"]!["resources"]!["memory"]!["reservation"]!);
        Assert.Equal(256, (int)spec["linux"]!["resources"]!["cpu"]!["shares"]!);
        Assert.Contains(spec["linux"]!["namespaces"]!.AsArray(), n => (string)n!["type"]! == "network");
    }

    [Fact]
    public void An_entry_point_from_the_task_drops_the_images_command_and_host_mode_shares_the_network()
    {
        var spec = RuncSpec.Create("host", Spec(entryPoint: ["/bin/sh", "-c"], command: ["echo hi"], networkMode: "host"), Image, 1024, _rootfs);

        Assert.Equal(["/bin/sh", "-c", "echo hi"], spec["process"]!["args"]!.AsArray().Select(a => (string)a!));
        Assert.DoesNotContain(spec["linux"]!["namespaces"]!.AsArray(), n => (string)n!["type"]! == "network");
    }
}
