/* service.c - registration of every framewright.v1 service; see service.h. */
#include "server/api/service.h"

fw_err fw_job_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);
fw_err fw_template_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);
fw_err fw_secret_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);
fw_err fw_font_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);
fw_err fw_webhook_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);
fw_err fw_batch_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);
fw_err fw_ops_service_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);
fw_err fw_template_frames_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);
fw_err fw_job_input_register(fw_rpc_server *srv, fw_service *svc, fw_error *err);

fw_err fw_service_register(fw_rpc_server *server, fw_service *service, fw_error *err)
{
    fw_err rc;
    if ((rc = fw_template_service_register(server, service, err)) ||
        (rc = fw_job_service_register(server, service, err)) ||
        (rc = fw_secret_service_register(server, service, err)) ||
        (rc = fw_font_service_register(server, service, err)) ||
        (rc = fw_webhook_service_register(server, service, err)) ||
        (rc = fw_batch_service_register(server, service, err)) ||
        (rc = fw_ops_service_register(server, service, err)) ||
        (rc = fw_template_frames_register(server, service, err)) ||
        (rc = fw_job_input_register(server, service, err)))
        return rc;
    return FW_OK;
}
