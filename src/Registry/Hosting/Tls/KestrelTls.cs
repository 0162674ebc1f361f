using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Registry.Hosting.Tls;

/// <summary>HTTPS for the <c>https://</c> addresses in <c>--urls</c>, from the PEM files in <see cref="TlsOptions"/>.</summary>
internal static class KestrelTls
{
    public static void AddRegistryTls(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(TlsOptions.SectionName).Get<TlsOptions>() ?? new TlsOptions();
        if (options.Enabled)
        {
            services.AddSingleton(sp => new ReloadingCertificate(options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ReloadingCertificate>>()));
        }
    }

    /// <summary>
    /// Every HTTPS endpoint presents the current certificate, chosen per connection so a reload takes
    /// effect for new connections at once. Kestrel offers HTTP/1.1 and HTTP/2 through ALPN by default.
    /// </summary>
    public static void UseRegistryTls(this KestrelServerOptions kestrel)
    {
        if (kestrel.ApplicationServices.GetService<ReloadingCertificate>() is not { } certificate)
        {
            return;
        }

        kestrel.ConfigureHttpsDefaults(https =>
        {
            // Kestrel wants a certificate to start an HTTPS endpoint; each handshake then takes the current one.
            https.ServerCertificate = certificate.Current.TargetCertificate;
            https.OnAuthenticate = (_, ssl) =>
            {
                ssl.ServerCertificate = null;
                ssl.ServerCertificateSelectionCallback = null;
                ssl.ServerCertificateContext = certificate.Current;
            };
        });
    }

    /// <summary>An <c>https://</c> address with no certificate configured would make Kestrel look for a development certificate.</summary>
    public static void EnsureCertificateFor(IEnumerable<string> urls, IConfiguration configuration)
    {
        var options = configuration.GetSection(TlsOptions.SectionName).Get<TlsOptions>() ?? new TlsOptions();
        var https = urls.FirstOrDefault(u => u.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
        if (https is not null && !options.Enabled)
        {
            throw new StartupException($"'{https}' needs a certificate: set Tls:CertificatePath and Tls:KeyPath (PEM files).");
        }
    }
}
