"""Simplified Chinese sentences shown to citizens and staff, keyed by error key.

Code never builds user text inline: it raises an error with a key, and the screen looks the
sentence up here. A missing key falls back to the generic sentence rather than showing a key.
"""

from __future__ import annotations

from core.errors import HallEdgeError

ERROR_TEXT: dict[str, str] = {
    "internal_error": "系统繁忙，请稍后再试或联系工作人员",
    "config_invalid": "设备配置有误，请联系工作人员",
    "queue_error": "排队系统暂时无法处理，请联系工作人员",
    "unknown_service": "该业务暂不可办理，请选择其他业务",
    "unknown_window": "窗口号不存在，请检查设置",
    "window_not_open": "本窗口尚未签到，请先签到",
    "no_current_ticket": "当前没有正在办理的号码",
    "ticket_in_service": "请先办结或过号当前号码",
    "staff_id_required": "请输入工号后签到",
    "device_error": "设备故障，请联系工作人员",
    "device_not_found": "未找到设备，请联系工作人员",
    "device_unplugged": "设备已断开，请联系工作人员",
    "device_timeout": "设备无响应，请联系工作人员",
    "bad_response": "设备通信异常，请联系工作人员",
    "device_rejected": "设备拒绝了指令，请联系工作人员",
    "paper_out": "打印机缺纸，请联系工作人员",
    "cover_open": "打印机仓盖未关闭，请联系工作人员",
    "printer_offline": "打印机离线，请联系工作人员",
    "print_job_failed": "文件未能打印，请联系工作人员",
    "print_job_timeout": "打印超时，请稍候或联系工作人员",
    "printer_stopped": "打印机已暂停，请联系工作人员",
    "toner_empty": "打印机墨粉已用完，请联系工作人员",
    "paper_jam": "打印机卡纸，请联系工作人员",
    "print_file_unsupported": "该文件格式无法打印，请联系工作人员",
    "print_service_unavailable": "打印服务暂不可用，请联系工作人员",
    "camera_no_frames": "高拍仪没有画面，请稍候再试或联系工作人员",
    "camera_bad_frame": "画面传输异常，请重新拍摄",
    "camera_unplugged": "高拍仪已断开，请联系工作人员",
    "camera_dark_frame": "画面过暗，请检查高拍仪灯光或联系工作人员",
    "id_reader_error": "身份证阅读器故障，请联系工作人员",
    "id_frame_invalid": "身份证读取通信异常，请重新放置证件",
    "id_no_card": "请将身份证放在读卡区",
    "id_card_removed": "证件已移开，读取未完成，请重新放置证件并保持不动",
    "id_card_read_failed": "证件读取失败，请重新放置证件",
    "id_card_auth_failed": "证件验证未通过，请到人工窗口办理",
    "id_card_unsupported": "无法识别该证件，请使用身份证或居住证",
    "id_sam_fault": "身份证阅读器安全模块异常，请联系工作人员",
    "id_frame_rejected": "身份证阅读器通信异常，请联系工作人员",
    "caller_frame_invalid": "叫号器通信异常，请检查叫号器连线",
    "caller_checksum": "叫号器数据校验失败，请检查叫号器连线",
    "caller_key_unknown": "叫号器按键无法识别，请重新按键",
    "rating_key_invalid": "评价器按键无法识别，请重新评价",
    "rating_not_requested": "当前没有待评价的业务",
    "clock_went_back": "本机时钟发生回拨，业务记录时间已自动按顺序校正，请联系技术人员检查时间同步",
    "journal_error": "本地存储异常，请联系工作人员",
    "broker_unavailable": "网络中断，数据将在恢复后自动上传",
    "storage_full": "本机存储空间即将用尽，暂停取号，请联系工作人员",
    "journal_too_new": "本机数据版本高于当前程序版本，请联系工作人员升级程序",
    "remote_error": "远程指令执行失败",
    "mqtt_auth_refused": "上传账号或密码被拒绝，数据已保存在本机，请联系技术人员核对设备凭据",
    "mqtt_tls_failed": "与上级平台的加密连接失败，数据已保存在本机，请联系技术人员检查证书",
    "privacy_key_missing": "未配置本厅隐私密钥，无法处理身份证号统计",
    "command_rejected": "远程指令被拒绝",
    "config_rejected": "远程配置校验未通过，未作更改",
    "config_apply_failed": "远程配置应用失败，已恢复原配置",
    "ingest_error": "数据接收异常",
    "malformed_message": "收到格式错误的数据",
    "capture_error": "材料拍摄失败，请重新放置材料",
    "no_page_found": "未检测到材料，请将材料平放在拍摄区域内",
    "two_pages_found": "检测到多份材料，请每次只放一页",
    "page_out_of_frame": "材料超出拍摄区域，请将材料移到拍摄区域中央",
    "blank_frame": "画面过暗或过亮，请联系工作人员检查高拍仪",
    "corrupt_image": "图像数据损坏，请重新拍摄",
    "image_size_invalid": "图像尺寸异常，请联系工作人员检查高拍仪",
    "low_confidence": "无法准确识别材料边缘，请重新摆放材料",
    "frame_blurry": "图像模糊，请保持材料静止后重新拍摄",
    "frame_glare": "材料反光严重，请调整材料角度后重新拍摄",
    "hand_in_frame": "请将手移出拍摄区域",
    "dataset_invalid": "测试数据格式有误",
}


def error_text(err: HallEdgeError | str) -> str:
    """The Chinese sentence for an error or an error key."""
    key = err if isinstance(err, str) else err.key
    return ERROR_TEXT.get(key, ERROR_TEXT["internal_error"])
