using Registry.Tests.Support;

namespace Registry.Tests.Agent;

/// <summary>The real <c>registry agent</c> process refusing to start, in one line that says why.</summary>
public sealed class AgentStartTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("agent-start-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Docker_chosen_without_an_engine_is_refused_at_start_naming_the_engine()
    {
        var log = await StartAsync("ECS_RUNTIME=docker", $"DOCKER_HOST=unix://{_work}/no-engine.sock");

        Assert.Contains("registry agent: ECS_RUNTIME=docker, but", log, StringComparison.Ordinal);
        Assert.Contains("no-engine.sock", log, StringComparison.Ordinal);
        Assert.Contains("(set DOCKER_HOST, or start the engine)", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_runtime_is_refused_at_start()
    {
        var log = await StartAsync("ECS_RUNTIME=podman");

        Assert.Contains("registry agent: ", log, StringComparison.Ordinal);
        Assert.Contains("ECS_RUNTIME", log, StringComparison.Ordinal);
        Assert.Contains("podman", log, StringComparison.Ordinal);
    }

    /// <summary>Starts the agent with a config that is complete but for the given lines; its output once it has exited 1.</summary>
    private async Task<string> StartAsync(params string[] lines)
    {
        var config = Path.Combine(_work, "ecs.config");
        await File.WriteAllLinesAsync(config, ["ECS_CLUSTER=start", "ECS_BACKEND_HOST=http://127.0.0.1:9", "AWS_ACCESS_KEY_ID=AKIDSTART", "AWS_SECRET_ACCESS_KEY=secret", $"ECS_DATADIR={_work}/data", .. lines]);
        using var agent = new AgentProcess(config);
        agent.Start();

        Assert.Equal(1, await agent.ExitCodeAsync(TimeSpan.FromSeconds(60)));
        return agent.Log;
    }
}
