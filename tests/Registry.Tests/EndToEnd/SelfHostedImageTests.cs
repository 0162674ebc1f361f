using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// The registry hosts its own image, built without a Docker engine: a .NET base image made offline
/// (scripts/ci/make-dotnet-base-image.sh, umoci) is pushed with skopeo, <c>dotnet publish
/// /t:PublishContainer</c> builds the registry's image on top of it and pushes it into the running
/// registry, skopeo pulls it back, umoci unpacks it and runc runs it: its <c>/v2/</c> answers.
/// </summary>
public sealed class SelfHostedImageTests(EndToEndFixture e2e) : IClassFixture<EndToEndFixture>
{
    [SkippableFact]
    public async Task The_registry_publishes_its_own_image_into_itself_and_that_image_runs()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var server = e2e.Server;
        var work = e2e.WorkPath("self-hosted-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var credentials = $"admin:{ServerProcess.AdminPassword}";

        (await Cli.RunAsync("bash", [Path.Combine(Cli.RepositoryRoot, "scripts", "ci", "make-dotnet-base-image.sh"), Path.Combine(work, "base"), "10.0"]))
            .EnsureSuccess("make-dotnet-base-image.sh");
        (await Cli.RunAsync("skopeo", ["copy", "--dest-creds", credentials, "--dest-tls-verify=false", $"oci:{Path.Combine(work, "base")}:10.0", $"docker://{server.HostPort}/dotnet/aspnet:10.0"]))
            .EnsureSuccess("skopeo copy of the base image");

        var publish = await Cli.RunAsync(
            "dotnet",
            ["publish", Path.Combine(Cli.RepositoryRoot, "src", "Registry", "Registry.csproj"), "-c", "Release", "/t:PublishContainer", "-o", Path.Combine(work, "publish"),
                $"-p:ContainerBaseImage={server.HostPort}/dotnet/aspnet:10.0", $"-p:ContainerRegistry={server.HostPort}", "-p:ContainerRepository=self/registry", "-p:ContainerImageTag=selfhosted"],
            timeout: TimeSpan.FromMinutes(10),
            environment: new Dictionary<string, string>
            {
                ["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = server.HostPort,
                ["DOTNET_CONTAINER_REGISTRY_UNAME"] = "admin",
                ["DOTNET_CONTAINER_REGISTRY_PWORD"] = ServerProcess.AdminPassword,
                ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            });
        publish.EnsureSuccess("dotnet publish /t:PublishContainer");
        Assert.Contains($"Pushed image 'self/registry:selfhosted' to registry '{server.HostPort}'", publish.Output, StringComparison.Ordinal);

        var pulled = Path.Combine(work, "pulled");
        (await Cli.RunAsync("skopeo", ["copy", "--src-creds", credentials, "--src-tls-verify=false", $"docker://{server.HostPort}/self/registry:selfhosted", $"oci:{pulled}:selfhosted"]))
            .EnsureSuccess("skopeo copy of the registry's image");
        var inspected = await Cli.RunAsync("skopeo", ["inspect", "--config", $"oci:{pulled}:selfhosted"]);
        inspected.EnsureSuccess("skopeo inspect");
        var config = JsonNode.Parse(inspected.Output)!["config"]!;
        Assert.Equal("1654", (string?)config["User"]);
        Assert.NotNull(config["ExposedPorts"]!["5000/tcp"]);
        Assert.Equal(["serve", "--urls", "http://0.0.0.0:5000", "--data", "/home/app/data"], config["Cmd"]!.AsArray().Select(a => (string)a!));

        // runc runs it as the image says (its command, user and data folder), but in the host's network on a free port.
        var bundle = Path.Combine(work, "bundle");
        (await Cli.RunAsync("umoci", ["unpack", "--image", $"{pulled}:selfhosted", bundle])).EnsureSuccess("umoci unpack");
        var port = ServerProcess.FreePort();
        var runtime = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(bundle, "config.json")))!.AsObject();
        var process = runtime["process"]!;
        Assert.Equal(1654, (int)process["user"]!["uid"]!);
        var args = process["args"]!.AsArray().Select(a => (string)a!).ToList();
        args[args.IndexOf("--urls") + 1] = $"http://127.0.0.1:{port}";
        process["args"] = new JsonArray([.. args.Select(a => JsonValue.Create(a))]);
        process["terminal"] = false;
        runtime["linux"]!["namespaces"] = new JsonArray([.. runtime["linux"]!["namespaces"]!.AsArray().Where(n => (string?)n!["type"] != "network").Select(n => n!.DeepClone())]);
        await File.WriteAllTextAsync(Path.Combine(bundle, "config.json"), runtime.ToJsonString());

        var container = "registry-selfhosted-" + Guid.NewGuid().ToString("N")[..8];
        var running = Cli.RunAsync("runc", ["run", "--bundle", bundle, container], timeout: TimeSpan.FromMinutes(3));
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            HttpResponseMessage? answer = null;
            while (answer is null)
            {
                Assert.False(running.IsCompleted, $"the container exited: {(running.IsCompleted ? running.Result.Output + running.Result.Error : "")}");
                Assert.True(DateTime.UtcNow < deadline, "the registry in the container did not answer within 60 s");
                try
                {
                    answer = await client.GetAsync("/v2/");
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(250);
                }
            }

            Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
            Assert.Equal("registry/2.0", answer.Headers.GetValues("Docker-Distribution-API-Version").Single());
            using var ready = await client.GetAsync("/readyz");
            Assert.Equal("ready", JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        }
        finally
        {
            await Cli.RunAsync("runc", ["delete", "--force", container]);
            await running;
        }
    }
}
