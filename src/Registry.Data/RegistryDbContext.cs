using Microsoft.EntityFrameworkCore;
using Registry.Data.Entities;

namespace Registry.Data;

/// <summary>
/// The registry's metadata. Provider-neutral: each provider project carries its own migrations.
/// Strings that are compared for pagination (repository names, tags) are ASCII by validation, so
/// the providers' binary ordering is the lexical order the spec asks for.
/// </summary>
public sealed class RegistryDbContext(DbContextOptions<RegistryDbContext> options) : DbContext(options)
{
    public DbSet<RepositoryEntity> Repositories => Set<RepositoryEntity>();

    public DbSet<BlobEntity> Blobs => Set<BlobEntity>();

    public DbSet<RepositoryBlobEntity> RepositoryBlobs => Set<RepositoryBlobEntity>();

    public DbSet<ManifestEntity> Manifests => Set<ManifestEntity>();

    public DbSet<ManifestReferenceEntity> ManifestReferences => Set<ManifestReferenceEntity>();

    public DbSet<TagEntity> Tags => Set<TagEntity>();

    public DbSet<UploadSessionEntity> UploadSessions => Set<UploadSessionEntity>();

    public DbSet<UserEntity> Users => Set<UserEntity>();

    public DbSet<GroupEntity> Groups => Set<GroupEntity>();

    public DbSet<GroupMemberEntity> GroupMembers => Set<GroupMemberEntity>();

    public DbSet<RoleEntity> Roles => Set<RoleEntity>();

    public DbSet<AccessKeyEntity> AccessKeys => Set<AccessKeyEntity>();

    public DbSet<ManagedPolicyEntity> Policies => Set<ManagedPolicyEntity>();

    public DbSet<PolicyAttachmentEntity> PolicyAttachments => Set<PolicyAttachmentEntity>();

    public DbSet<RegistrySettingEntity> Settings => Set<RegistrySettingEntity>();

    public DbSet<ResourceTagEntity> ResourceTags => Set<ResourceTagEntity>();

    public DbSet<AuditEventEntity> AuditEvents => Set<AuditEventEntity>();

    public DbSet<ClusterEntity> Clusters => Set<ClusterEntity>();

    public DbSet<TaskDefinitionEntity> TaskDefinitions => Set<TaskDefinitionEntity>();

    public DbSet<ContainerInstanceEntity> ContainerInstances => Set<ContainerInstanceEntity>();

    public DbSet<TaskEntity> Tasks => Set<TaskEntity>();

    public DbSet<ServiceEntity> Services => Set<ServiceEntity>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<RepositoryEntity>(e =>
        {
            e.ToTable("Repositories");
            e.HasIndex(r => r.Name).IsUnique();
            e.Property(r => r.Name).HasMaxLength(255);
            e.Property(r => r.ImageTagMutability).HasMaxLength(16).HasDefaultValue("MUTABLE");
            e.Property(r => r.EncryptionType).HasMaxLength(16).HasDefaultValue("AES256");
        });

        modelBuilder.Entity<BlobEntity>(e =>
        {
            e.ToTable("Blobs");
            e.HasKey(b => b.Digest);
            e.Property(b => b.Digest).HasMaxLength(200);
        });

        modelBuilder.Entity<RepositoryBlobEntity>(e =>
        {
            e.ToTable("RepositoryBlobs");
            e.HasKey(l => new { l.RepositoryId, l.Digest });
            e.HasIndex(l => l.Digest);
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(l => l.RepositoryId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<BlobEntity>().WithMany().HasForeignKey(l => l.Digest).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<ManifestEntity>(e =>
        {
            e.ToTable("Manifests");
            e.HasIndex(m => new { m.RepositoryId, m.Digest }).IsUnique();
            e.HasIndex(m => new { m.RepositoryId, m.SubjectDigest });
            e.Property(m => m.Digest).HasMaxLength(200);
            e.Property(m => m.SubjectDigest).HasMaxLength(200);
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(m => m.RepositoryId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(m => m.References).WithOne().HasForeignKey(r => r.ManifestId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<ManifestReferenceEntity>(e =>
        {
            e.ToTable("ManifestReferences");
            e.HasKey(r => new { r.ManifestId, r.Digest });
            e.HasIndex(r => r.Digest);
        });

        modelBuilder.Entity<TagEntity>(e =>
        {
            e.ToTable("Tags");
            e.HasKey(t => new { t.RepositoryId, t.Name });
            e.HasIndex(t => new { t.RepositoryId, t.ManifestDigest });
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(t => t.RepositoryId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<UploadSessionEntity>(e =>
        {
            e.ToTable("UploadSessions");
            e.HasKey(u => u.Id);
            e.HasOne<RepositoryEntity>().WithMany().HasForeignKey(u => u.RepositoryId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<UserEntity>(e =>
        {
            e.ToTable("Users");
            e.HasIndex(u => u.Name).IsUnique();
        });

        modelBuilder.Entity<GroupEntity>(e =>
        {
            e.ToTable("Groups");
            e.HasIndex(g => g.Name).IsUnique();
            e.Property(g => g.Name).HasMaxLength(128);
        });

        modelBuilder.Entity<GroupMemberEntity>(e =>
        {
            e.ToTable("GroupMembers");
            e.HasKey(m => new { m.GroupId, m.UserId });
            e.HasIndex(m => m.UserId);
            e.HasOne<GroupEntity>().WithMany().HasForeignKey(m => m.GroupId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<UserEntity>().WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<RoleEntity>(e =>
        {
            e.ToTable("Roles");
            e.HasIndex(r => r.Name).IsUnique();
            e.Property(r => r.Name).HasMaxLength(64);
        });

        modelBuilder.Entity<AccessKeyEntity>(e =>
        {
            e.ToTable("AccessKeys");
            e.HasKey(k => k.Id);
            e.Property(k => k.Id).HasMaxLength(32);
            e.HasIndex(k => k.UserId);
            e.HasOne<UserEntity>().WithMany().HasForeignKey(k => k.UserId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<ManagedPolicyEntity>(e =>
        {
            e.ToTable("Policies");
            e.HasIndex(p => p.Name).IsUnique();
            e.Property(p => p.Name).HasMaxLength(128);
        });

        modelBuilder.Entity<PolicyAttachmentEntity>(e =>
        {
            e.ToTable("PolicyAttachments");
            e.HasKey(a => new { a.PolicyId, a.PrincipalKind, a.PrincipalId });
            e.HasIndex(a => new { a.PrincipalKind, a.PrincipalId });
            e.HasOne<ManagedPolicyEntity>().WithMany().HasForeignKey(a => a.PolicyId).OnDelete(DeleteBehavior.Cascade);
        });

        modelBuilder.Entity<ClusterEntity>(e =>
        {
            e.ToTable("Clusters");
            e.HasIndex(c => c.Name).IsUnique();
            e.Property(c => c.Name).HasMaxLength(255);
            e.Property(c => c.Status).HasMaxLength(16);
        });

        modelBuilder.Entity<TaskDefinitionEntity>(e =>
        {
            e.ToTable("TaskDefinitions");
            e.HasIndex(t => new { t.Family, t.Revision }).IsUnique();
            e.Property(t => t.Family).HasMaxLength(255);
            e.Property(t => t.Status).HasMaxLength(16);
            e.Property(t => t.RegisteredBy).HasMaxLength(512);
        });

        modelBuilder.Entity<ContainerInstanceEntity>(e =>
        {
            e.ToTable("ContainerInstances");
            e.HasIndex(i => i.InstanceId).IsUnique();
            e.HasIndex(i => new { i.ClusterId, i.Status });
            e.Property(i => i.InstanceId).HasMaxLength(32);
            e.Property(i => i.Ec2InstanceId).HasMaxLength(64);
            e.Property(i => i.Status).HasMaxLength(16);
            e.Property(i => i.Runtime).HasMaxLength(16);
            e.Property(i => i.AgentVersion).HasMaxLength(64);
            e.Property(i => i.Address).HasMaxLength(255);
            e.Property(i => i.RegisteredBy).HasMaxLength(512);
            e.HasOne<ClusterEntity>().WithMany().HasForeignKey(i => i.ClusterId).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<TaskEntity>(e =>
        {
            e.ToTable("Tasks");
            e.HasIndex(t => t.TaskId).IsUnique();
            e.HasIndex(t => new { t.ClusterId, t.LastStatus });
            e.HasIndex(t => new { t.ContainerInstanceId, t.LastStatus });
            e.Property(t => t.TaskId).HasMaxLength(32);
            e.Property(t => t.Group).HasMaxLength(255);
            e.Property(t => t.StartedBy).HasMaxLength(128);
            e.Property(t => t.LastStatus).HasMaxLength(16);
            e.Property(t => t.DesiredStatus).HasMaxLength(16);
            e.Property(t => t.StopCode).HasMaxLength(32);
            e.Property(t => t.StoppedReason).HasMaxLength(1024);
            e.Property(t => t.TargetHealth).HasMaxLength(16);
            e.Property(t => t.LaunchType).HasMaxLength(16);
            e.HasOne<ClusterEntity>().WithMany().HasForeignKey(t => t.ClusterId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<ContainerInstanceEntity>().WithMany().HasForeignKey(t => t.ContainerInstanceId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<TaskDefinitionEntity>().WithMany().HasForeignKey(t => t.TaskDefinitionId).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<ServiceEntity>(e =>
        {
            e.ToTable("Services");
            e.HasIndex(s => new { s.ClusterId, s.Name });
            e.HasIndex(s => s.Status);
            e.Property(s => s.Name).HasMaxLength(255);
            e.Property(s => s.Status).HasMaxLength(16);
            e.Property(s => s.LaunchType).HasMaxLength(16);
            e.Property(s => s.CreatedBy).HasMaxLength(512);
            e.Property(s => s.Version).IsConcurrencyToken();
            e.HasOne<ClusterEntity>().WithMany().HasForeignKey(s => s.ClusterId).OnDelete(DeleteBehavior.Restrict);
            e.HasOne<TaskDefinitionEntity>().WithMany().HasForeignKey(s => s.TaskDefinitionId).OnDelete(DeleteBehavior.Restrict);
        });

        modelBuilder.Entity<AuditEventEntity>(e =>
        {
            e.ToTable("AuditEvents");
            e.HasIndex(a => a.Time);
            e.HasIndex(a => new { a.Principal, a.Time });
            e.Property(a => a.Principal).HasMaxLength(128);
            e.Property(a => a.Action).HasMaxLength(128);
            e.Property(a => a.Resource).HasMaxLength(512);
            e.Property(a => a.SourceIp).HasMaxLength(64);
            e.Property(a => a.Outcome).HasMaxLength(16);
        });

        modelBuilder.Entity<ResourceTagEntity>(e =>
        {
            e.ToTable("ResourceTags");
            e.HasKey(t => new { t.ResourceArn, t.Key });
            e.Property(t => t.ResourceArn).HasMaxLength(512);
            e.Property(t => t.Key).HasMaxLength(128);
            e.Property(t => t.Value).HasMaxLength(256);
        });

        modelBuilder.Entity<RegistrySettingEntity>(e =>
        {
            e.ToTable("Settings");
            e.HasKey(s => s.Name);
            e.Property(s => s.Name).HasMaxLength(64);
        });
    }
}
