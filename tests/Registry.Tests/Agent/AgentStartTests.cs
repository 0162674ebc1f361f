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
        var log = await StartAsync(new() { ["ECS_RUNTIME"] = "docker", ["DOCKER_HOST"] = $"unix://{_work}/no-engine.sock" });

        Assert.Contains("registry agent: ECS_RUNTIME=docker, but", log, StringComparison.Ordinal);
        Assert.Contains("no-engine.sock", log, StringComparison.Ordinal);
        Assert.Contains("(set DOCKER_HOST, or start the engine)", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_runtime_is_refused_at_start()
    {
        var log = await StartAsync(new() { ["ECS_RUNTIME"] = "podman" });

        Assert.Contains("registry agent: ECS_RUNTIME must be docker or runc, not 'podman'.", log, StringComparison.Ordinal);
    }

    /// <summary>A control plane that is not up yet is waited for, not a crash.</summary>
    [SkippableFact]
    public async Task An_unreachable_control_plane_is_retried()
    {
        var problem = Registry.Agent.Runtimes.RuncRuntime.Problem();
        Skip.If(problem is not null, problem);
        using var agent = Agent(new() { ["ECS_RUNTIME"] = "runc" });
        agent.Start();

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!agent.Log.Contains("Control plane unreachable", StringComparison.Ordinal) && DateTime.UtcNow < deadline && !agent.HasExited)
        {
            await Task.Delay(100);
        }

        Assert.False(agent.HasExited, agent.Log);
        Assert.Contains("attempt 1, retrying", agent.Log, StringComparison.Ordinal);
    }

    /// <summary>Starts the agent with a complete config and <paramref name="environment"/>; its output once it has exited 1.</summary>
    private async Task<string> StartAsync(Dictionary<string, string> environment)
    {
        using var agent = Agent(environment);
        agent.Start();

        Assert.Equal(1, await agent.ExitCodeAsync(TimeSpan.FromSeconds(60)));
        return agent.Log;
    }

    /// <summary>
    /// An agent whose config points at a closed port; the environment given (and nothing inherited from
    /// the test run, such as DOCKER_HOST) decides its runtime.
    /// </summary>
    private AgentProcess Agent(Dictionary<string, string> environment)
    {
        var config = Path.Combine(_work, "ecs.config");
        File.WriteAllLines(config, ["ECS_CLUSTER=start", "ECS_BACKEND_HOST=http://127.0.0.1:9", "AWS_ACCESS_KEY_ID=AKIDSTART", "AWS_SECRET_ACCESS_KEY=secret", $"ECS_DATADIR={_work}/data"]);
        environment.TryAdd("DOCKER_HOST", $"unix://{_work}/no-engine.sock");
        return new AgentProcess(config, environment);
    }
}
