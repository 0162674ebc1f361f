using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// One real registry process shared by the client tests, and a small runnable image built offline.
/// The clients (skopeo, podman, docker) and their isolated configuration come from the test script
/// (scripts/test.sh), which sets <c>REGISTRY_E2E=1</c>; without it these tests are reported skipped.
/// </summary>
public sealed class EndToEndFixture : IAsyncLifetime
{
    public const string Message = "hello from the registry e2e image";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "registry-e2e-tests", Guid.NewGuid().ToString("N"));

    public static bool Enabled => Environment.GetEnvironmentVariable("REGISTRY_E2E") == "1";

    public const string SkipReason = "end-to-end clients are set up by scripts/test.sh (REGISTRY_E2E=1)";

    public ServerProcess Server { get; private set; } = null!;

    /// <summary>An OCI image layout whose image prints <see cref="Message"/>.</summary>
    public string ImageLayout => Path.Combine(_root, "image");

    public string ImageDigest { get; private set; } = "";

    public string WorkPath(string name) => Path.Combine(_root, name);

    /// <summary>The listener of the server's load balancer target group <see cref="TargetGroup"/>.</summary>
    public int BalancerPort { get; } = ServerProcess.FreePort();

    public const string TargetGroup = "e2e-web";

    public async Task InitializeAsync()
    {
        if (!Enabled)
        {
            return;
        }

        Directory.CreateDirectory(_root);
        Server = new ServerProcess(Path.Combine(_root, "data"));
        var group = $"REGISTRY_LoadBalancer__TargetGroups__{TargetGroup}__";
        Server.Environment[group + "Listener"] = $"http://127.0.0.1:{BalancerPort}";
        Server.Environment[group + "HealthCheckInterval"] = "00:00:01";
        Server.Environment[group + "HealthCheckTimeout"] = "00:00:01";
        Server.Environment[group + "DeregistrationDelay"] = "00:00:03";
        await Server.StartAsync();
        var script = Path.Combine(Cli.RepositoryRoot, "scripts", "ci", "make-test-image.sh");
        var built = (await Cli.RunAsync(script, ["--message", Message, ImageLayout])).EnsureSuccess("make-test-image.sh");
        ImageDigest = built.Output.Trim();
    }

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}

/// <summary>The client tests share their servers and run one at a time (podman's image store is one).</summary>
[CollectionDefinition(Name)]
public sealed class EndToEndGroup : ICollectionFixture<EndToEndFixture>, ICollectionFixture<PostgreSqlS3ServerFixture>, ICollectionFixture<PostgreSqlAzureServerFixture>
{
    public const string Name = "end-to-end";
}
