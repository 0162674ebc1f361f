using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Registry.Hosting.Tls;

/// <summary>
/// The server certificate and its intermediates, re-read when the files change, so a renewed certificate (cert-manager,
/// certbot, a Kubernetes secret update) is served to new connections without a restart. Handshakes
/// look at the files' timestamps at most every <see cref="CheckInterval"/>; a file caught half-written
/// or otherwise unreadable leaves the previous certificate in service and is tried again later.
/// </summary>
internal sealed class ReloadingCertificate
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(2);

    private readonly string _certificatePath;
    private readonly string _keyPath;
    private readonly TimeProvider _clock;
    private readonly ILogger<ReloadingCertificate> _logger;
    private readonly Lock _lock = new();
    private SslStreamCertificateContext _current;
    private (DateTime, long, DateTime, long) _loadedVersion;
    private long _nextCheck;

    public ReloadingCertificate(TlsOptions options, TimeProvider clock, ILogger<ReloadingCertificate> logger)
    {
        if (string.IsNullOrWhiteSpace(options.CertificatePath) || string.IsNullOrWhiteSpace(options.KeyPath))
        {
            throw new StartupException("TLS needs both Tls:CertificatePath and Tls:KeyPath (PEM files).");
        }

        _certificatePath = Path.GetFullPath(options.CertificatePath);
        _keyPath = Path.GetFullPath(options.KeyPath);
        _clock = clock;
        _logger = logger;
        try
        {
            _loadedVersion = FileVersion();
            _current = Load();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
        {
            throw new StartupException($"cannot load the TLS certificate '{_certificatePath}' with key '{_keyPath}': {e.Message}", e);
        }

        _nextCheck = (clock.GetUtcNow() + CheckInterval).UtcTicks;
    }

    /// <summary>The certificate (with its chain) to present now.</summary>
    public SslStreamCertificateContext Current
    {
        get
        {
            var now = _clock.GetUtcNow().UtcTicks;
            if (now >= Interlocked.Read(ref _nextCheck))
            {
                ReloadIfChanged(now);
            }

            return Volatile.Read(ref _current);
        }
    }

    private void ReloadIfChanged(long now)
    {
        lock (_lock)
        {
            if (now < _nextCheck)
            {
                return;
            }

            _nextCheck = now + CheckInterval.Ticks;
            try
            {
                var version = FileVersion();
                if (version == _loadedVersion)
                {
                    return;
                }

                var loaded = Load();
                _loadedVersion = version;
                Volatile.Write(ref _current, loaded);
                _logger.LogInformation("TLS certificate reloaded from {Path}: {Subject}, valid until {NotAfter:u}", _certificatePath, loaded.TargetCertificate.Subject, loaded.TargetCertificate.NotAfter.ToUniversalTime());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                _logger.LogWarning(e, "TLS certificate files changed but could not be loaded; still serving the previous certificate");
            }
        }
    }

    private (DateTime, long, DateTime, long) FileVersion()
    {
        var certificate = new FileInfo(_certificatePath);
        var key = new FileInfo(_keyPath);
        return (certificate.LastWriteTimeUtc, certificate.Length, key.LastWriteTimeUtc, key.Length);
    }

    /// <summary>The first certificate in the file is the server's (paired with the key); the rest are sent as its chain.</summary>
    private SslStreamCertificateContext Load()
    {
        var leaf = X509Certificate2.CreateFromPemFile(_certificatePath, _keyPath);
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(_certificatePath);
        var intermediates = new X509Certificate2Collection(all.Skip(1).ToArray());
        return SslStreamCertificateContext.Create(leaf, intermediates, offline: true);
    }
}
