using Microsoft.Extensions.Options;
using Registry.Hosting;

using Registry.Iam;

namespace Registry.Auth;

/// <summary>
/// Secure by default: on first start (no users yet) creates <c>admin</c> with the password from
/// <c>REGISTRY_ADMIN_PASSWORD</c> / <c>Auth:AdminPassword</c>, or a random one that is printed once
/// and written to <c>&lt;data&gt;/admin-password</c>, readable by the owner only. The admin holds the
/// AdministratorAccess policy (all actions on all resources).
/// </summary>
internal sealed partial class AdminBootstrap(UserStore users, IamService iam, IOptions<AuthOptions> options, IConfiguration configuration, ILogger<AdminBootstrap> logger) : IHostedService
{
    public const string AdminUser = "admin";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await users.AnyAsync(cancellationToken))
        {
            await iam.EnsureAdministratorAsync(AdminUser, cancellationToken);
            return;
        }

        var password = Environment.GetEnvironmentVariable("REGISTRY_ADMIN_PASSWORD") is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : options.Value.AdminPassword;
        if (string.IsNullOrEmpty(password))
        {
            password = PasswordHasher.GeneratePassword();
            var file = Path.Combine(RegistryServices.DataPath(configuration), "admin-password");
            await using (var stream = OwnerOnlyFile.Create(file, FileMode.Create))
            await using (var writer = new StreamWriter(stream))
            {
                await writer.WriteLineAsync(password);
            }

            // Printed once, on purpose: this is the only time the operator can learn it from the log.
            await Console.Out.WriteLineAsync($"registry: created user '{AdminUser}' with password {password} (also in {file})");
        }

        if (await users.CreateAsync(AdminUser, password, cancellationToken))
        {
            Log.AdminCreated(logger, AdminUser);
        }

        await iam.EnsureAdministratorAsync(AdminUser, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Created the bootstrap user {User}")]
        public static partial void AdminCreated(ILogger logger, string user);
    }
}
