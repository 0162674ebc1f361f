namespace Registry.Tests.Support;

/// <summary>A real <c>registry serve</c> process on https, with certificates from a test CA made by openssl.</summary>
public sealed class TlsServerFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "registry-tls-tests", Guid.NewGuid().ToString("N"));

    public TestCertificates Certificates { get; private set; } = null!;

    public ServerProcess Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Certificates = await TestCertificates.CreateAsync(Path.Combine(_root, "pki"));
        Server = new ServerProcess(Path.Combine(_root, "data"), Certificates);
        await Server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }
}
