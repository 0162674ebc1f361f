using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Registry.Tests.Support;

namespace Registry.Tests.GarbageCollection;

/// <summary>A registry whose collector runs only when a test calls it, on a clock the test moves.</summary>
public interface IManualCollectorFixture
{
    RegistryFixture Registry { get; }

    FakeTimeProvider Clock { get; }
}

internal static class ManualCollector
{
    public static readonly TimeSpan GracePeriod = TimeSpan.FromHours(1);

    public static void Configure(Dictionary<string, string?> settings)
    {
        settings["GarbageCollection:Enabled"] = "false";
        settings["GarbageCollection:GracePeriod"] = GracePeriod.ToString();
        settings["GarbageCollection:DeleteUntagged"] = "true";
    }
}

public sealed class ManualCollectorFixture : RegistryFixture, IManualCollectorFixture
{
    public ManualCollectorFixture() => ManualCollector.Configure(Settings);

    public RegistryFixture Registry => this;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);
}

public sealed class ManualCollectorPostgreSqlFixture : PostgreSqlRegistryFixture, IManualCollectorFixture
{
    public ManualCollectorPostgreSqlFixture() => ManualCollector.Configure(Settings);

    public RegistryFixture Registry => Require();

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);
}
