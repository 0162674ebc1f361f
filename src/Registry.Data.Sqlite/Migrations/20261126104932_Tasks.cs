using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Data.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Tasks : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ContainerInstances",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    InstanceId = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    ClusterId = table.Column<long>(type: "INTEGER", nullable: false),
                    Ec2InstanceId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    AgentConnected = table.Column<bool>(type: "INTEGER", nullable: false),
                    LastHeartbeatAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    RegisteredAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Cpu = table.Column<int>(type: "INTEGER", nullable: false),
                    Memory = table.Column<int>(type: "INTEGER", nullable: false),
                    ReservedPorts = table.Column<string>(type: "TEXT", nullable: false),
                    Attributes = table.Column<string>(type: "TEXT", nullable: false),
                    Runtime = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    AgentVersion = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Version = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ContainerInstances", x => x.Id);
                    table.ForeignKey(
                        name: "FK_ContainerInstances_Clusters_ClusterId",
                        column: x => x.ClusterId,
                        principalTable: "Clusters",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateTable(
                name: "Tasks",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    TaskId = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    ClusterId = table.Column<long>(type: "INTEGER", nullable: false),
                    ContainerInstanceId = table.Column<long>(type: "INTEGER", nullable: true),
                    TaskDefinitionId = table.Column<long>(type: "INTEGER", nullable: false),
                    Group = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    StartedBy = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    LastStatus = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    DesiredStatus = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    StopCode = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    StoppedReason = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: true),
                    Cpu = table.Column<int>(type: "INTEGER", nullable: false),
                    Memory = table.Column<int>(type: "INTEGER", nullable: false),
                    HostPorts = table.Column<string>(type: "TEXT", nullable: false),
                    Overrides = table.Column<string>(type: "TEXT", nullable: false),
                    Containers = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    PullStartedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    PullStoppedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    StartedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    StoppingAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    ExecutionStoppedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    StoppedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Version = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Tasks", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Tasks_Clusters_ClusterId",
                        column: x => x.ClusterId,
                        principalTable: "Clusters",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_Tasks_ContainerInstances_ContainerInstanceId",
                        column: x => x.ContainerInstanceId,
                        principalTable: "ContainerInstances",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_Tasks_TaskDefinitions_TaskDefinitionId",
                        column: x => x.TaskDefinitionId,
                        principalTable: "TaskDefinitions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "IX_ContainerInstances_ClusterId_Status",
                table: "ContainerInstances",
                columns: new[] { "ClusterId", "Status" });

            migrationBuilder.CreateIndex(
                name: "IX_ContainerInstances_InstanceId",
                table: "ContainerInstances",
                column: "InstanceId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_Tasks_ClusterId_LastStatus",
                table: "Tasks",
                columns: new[] { "ClusterId", "LastStatus" });

            migrationBuilder.CreateIndex(
                name: "IX_Tasks_ContainerInstanceId_LastStatus",
                table: "Tasks",
                columns: new[] { "ContainerInstanceId", "LastStatus" });

            migrationBuilder.CreateIndex(
                name: "IX_Tasks_TaskDefinitionId",
                table: "Tasks",
                column: "TaskDefinitionId");

            migrationBuilder.CreateIndex(
                name: "IX_Tasks_TaskId",
                table: "Tasks",
                column: "TaskId",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Tasks");

            migrationBuilder.DropTable(
                name: "ContainerInstances");
        }
    }
}
