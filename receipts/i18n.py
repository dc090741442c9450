"""The receipt's words in Simplified Chinese, Traditional Chinese and English.

Invariants owned here:
- Every message has a text in each of `LANGUAGES`; placeholders (`{serial}`, `{text}`, ...) are
  the same in all three.
- Texts are plain strings, never markup: the template escapes them like any other value.
- The Chinese capitals (大写) are written in simplified characters, as the People's Bank of
  China's rules prescribe, on the Simplified and English receipts, and in their traditional
  forms (壹貳參肆伍陸柒捌玖拾佰仟萬億) on the Traditional one (`receipts.numerals`).
- Place names (GB/T 2260 counties and towns) are shown without their prefecture and in the
  receipt's script (`place_name`); no English appears on a Chinese page.
"""

from __future__ import annotations

from collections.abc import Mapping

from receipts.model import LANGUAGES, Language

__all__ = ["BABEL_LOCALES", "LANGUAGE_NAMES", "MESSAGES", "messages", "place_name"]

#: The Babel locale that formats numbers, money and dates for each receipt language.
#: zh-Hant uses Hong Kong conventions (NT$ for TWD, unlike zh_Hant_TW's bare "$"); English uses
#: international English (US$, JP¥, day-month-year) rather than en_US's bare "$".
BABEL_LOCALES: Mapping[Language, str] = {
    "zh-Hans": "zh_Hans_CN",
    "zh-Hant": "zh_Hant_HK",
    "en": "en_001",
}

#: Each language named in itself, for the language switcher.
LANGUAGE_NAMES: Mapping[Language, str] = {
    "zh-Hans": "简体中文",
    "zh-Hant": "繁體中文",
    "en": "English",
}

_ZH_HANS: dict[str, str] = {
    "title": "捐赠收据",
    "title_annual": "年度捐赠汇总收据",
    "subtitle": "Donation Receipt",
    "subtitle_annual": "Annual Consolidated Donation Receipt",
    "registration_no": "登记证号",
    "serial": "收据编号",
    "lead": "兹确认收到下列捐赠，谨致谢忱。",
    "lead_annual": "兹确认收到下列年度捐赠，谨致谢忱。",
    "donor": "捐赠人",
    "anonymous_donor": "匿名捐赠人",
    "anonymous_private_note": "您已选择匿名：公开页面不显示您的姓名。",
    "received_on": "收到日期",
    "issued_on": "开具日期",
    "kind": "捐赠类型",
    "kind_cash": "现金捐赠",
    "kind_foreign": "外币捐赠",
    "kind_in_kind": "实物捐赠",
    "kind_pledge_payment": "认捐款支付",
    "kind_annual": "年度汇总",
    "amount": "捐赠金额",
    "amount_in_kind": "入账价值",
    "amount_annual": "年度合计",
    "capitals": "人民币（大写）",
    "capitals_hint": "",
    "currency": "币种",
    "original_amount": "原币金额",
    "cny_value": "折合人民币",
    "fx_rate": "汇率",
    "fx_rate_value": "1 {currency} = {rate} CNY",
    "fx_source": "汇率来源",
    "fx_date": "汇率日期",
    "fund": "受赠基金",
    "purpose": "捐赠用途",
    "in_kind_description": "物品描述",
    "in_kind_quantity": "数量",
    "valuation_basis": "估值依据",
    "in_kind_disclaimer": (
        "上述价值按所列估值依据入账，仅作记录；本机构不对物品价值作出保证，本收据亦不构成对价值的承诺。"
    ),
    "goods_or_services": "回报情况",
    "goods_or_services_none": "捐赠人未因本次捐赠获得任何商品或服务。",
    "goods_or_services_some": "捐赠人因本次捐赠获得：{text}",
    "fiscal_receipt": "公益事业捐赠票据",
    "fiscal_code": "票据代码",
    "fiscal_number": "票据号码",
    "fiscal_pending": (
        "本收据是本机构出具的捐赠确认凭证。可用于税前扣除的公益事业捐赠票据"
        "由财政部门电子票据平台另行开具。"
    ),
    "signing_officer": "签发人",
    "stamp_caption": "电子签发",
    "void": "作废",
    "void_notice": "本收据已作废，不再作为捐赠凭证。",
    "void_reason": "作废原因：{reason}",
    "replaced_by": "已由收据 {serial} 取代。",
    "replaces": "本收据取代并注销收据 {serial}。",
    "verify": "扫码核验",
    "entry_hash": "记账哈希值",
    "proof": "防篡改证明",
    "proof_hint": (
        "本笔捐赠已记入可公开验证的账本（RFC 6962 默克尔树）。"
        "凭以下数据，任何人都可独立核验该记录未被篡改。"
    ),
    "leaf_index": "叶序号",
    "inclusion_proof": "包含证明",
    "checkpoint": "检查点",
    "where_it_went": "善款去向",
    "where_date": "日期",
    "where_project": "项目或用途",
    "where_county": "县（市、区）",
    "where_amount": "金额",
    "where_empty": "善款尚未拨付。拨付后，核验页面将随之更新。",
    "covered_gifts": "本收据涵盖的捐赠",
    "covered_serial": "原收据编号",
    "covered_received_on": "收到日期",
    "covered_amount": "金额",
    "covered_note": "本汇总收据所列捐赠与各原收据确认的是同一批捐赠，不得重复计算。",
    "total": "合计",
    "download_pdf": "下载 PDF",
    "language": "语言",
    "page": "第 {page} 页",
    "where_what": "用途与地点",
    "where_fee": "银行手续费",
    "covered_more": "其余 {count} 笔（见网页版收据）",
    "ack_issuer_not_configured": "本基金的开具机构尚未配置，请联系本平台更正。",
    "ack_title": "认捐确认函",
    "ack_serial": "确认函编号",
    "ack_lead": "兹确认收到您的下列认捐承诺，谨致谢忱。",
    "ack_not_receipt": (
        "本函确认的是认捐承诺，不是捐赠收据：款项到账后，本机构将另行开具捐赠收据。"
    ),
    "ack_amount": "认捐金额",
    "pledged_on": "认捐日期",
    "due_on": "预计到账",
    "due_open": "未约定",
    "ack_conditional": "认捐条件",
    "ack_conditional_yes": "附条件认捐：条件达成后入账。",
    "ack_conditional_no": "无条件认捐。",
    "where_more": "其余 {count} 项（明细见网页版收据）",
    "where_scholarship": "助学金 · {place} · {term} · {count} 名学生",
    "where_transfer": "转入基金 {fund}",
    "term_spring": "{year} 春",
    "term_autumn": "{year} 秋",
    "term_year": "{year} 学年",
    "issuer_not_configured": (
        "本基金的开具机构尚未配置：本收据暂不能作为捐赠凭证，请联系本平台更正。"
    ),
    "issuer_demo": "演示数据：开具机构名称与代码仅供演示，并非真实登记信息。",
    "credit_code": "统一社会信用代码",
    "not_configured": "未配置",
    "proof_compact": (
        "本笔捐赠已记入可公开验证的账本；完整证明（签名声明、记账数据、包含证明）以附件 h"
        "uiquan-receipt-proof.json 嵌入本 PDF。"
    ),
    "checkpoint_size": "检查点大小",
    "checkpoint_root": "检查点根哈希",
}

_ZH_HANT: dict[str, str] = {
    "title": "捐贈收據",
    "title_annual": "年度捐贈彙總收據",
    "subtitle": "Donation Receipt",
    "subtitle_annual": "Annual Consolidated Donation Receipt",
    "registration_no": "登記證號",
    "serial": "收據編號",
    "lead": "茲確認收到下列捐贈，謹致謝忱。",
    "lead_annual": "茲確認收到下列年度捐贈，謹致謝忱。",
    "donor": "捐贈人",
    "anonymous_donor": "匿名捐贈人",
    "anonymous_private_note": "您已選擇匿名：公開頁面不顯示您的姓名。",
    "received_on": "收到日期",
    "issued_on": "開具日期",
    "kind": "捐贈類型",
    "kind_cash": "現金捐贈",
    "kind_foreign": "外幣捐贈",
    "kind_in_kind": "實物捐贈",
    "kind_pledge_payment": "認捐款支付",
    "kind_annual": "年度彙總",
    "amount": "捐贈金額",
    "amount_in_kind": "入賬價值",
    "amount_annual": "年度合計",
    "capitals": "人民幣（大寫）",
    "capitals_hint": "",
    "currency": "幣種",
    "original_amount": "原幣金額",
    "cny_value": "折合人民幣",
    "fx_rate": "匯率",
    "fx_rate_value": "1 {currency} = {rate} CNY",
    "fx_source": "匯率來源",
    "fx_date": "匯率日期",
    "fund": "受贈基金",
    "purpose": "捐贈用途",
    "in_kind_description": "物品描述",
    "in_kind_quantity": "數量",
    "valuation_basis": "估值依據",
    "in_kind_disclaimer": (
        "上述價值按所列估值依據入賬，僅作記錄；本機構不對物品價值作出保證，本收據亦不構成對價值的承諾。"
    ),
    "goods_or_services": "回報情況",
    "goods_or_services_none": "捐贈人未因本次捐贈獲得任何商品或服務。",
    "goods_or_services_some": "捐贈人因本次捐贈獲得：{text}",
    "fiscal_receipt": "公益事業捐贈票據",
    "fiscal_code": "票據代碼",
    "fiscal_number": "票據號碼",
    "fiscal_pending": (
        "本收據是本機構出具的捐贈確認憑證。可用於稅前扣除的公益事業捐贈票據"
        "由財政部門電子票據平台另行開具。"
    ),
    "signing_officer": "簽發人",
    "stamp_caption": "電子簽發",
    "void": "作廢",
    "void_notice": "本收據已作廢，不再作為捐贈憑證。",
    "void_reason": "作廢原因：{reason}",
    "replaced_by": "已由收據 {serial} 取代。",
    "replaces": "本收據取代並註銷收據 {serial}。",
    "verify": "掃碼核驗",
    "entry_hash": "記賬雜湊值",
    "proof": "防篡改證明",
    "proof_hint": (
        "本筆捐贈已記入可公開驗證的賬本（RFC 6962 默克爾樹）。"
        "憑以下數據，任何人都可獨立核驗該記錄未被篡改。"
    ),
    "leaf_index": "葉序號",
    "inclusion_proof": "包含證明",
    "checkpoint": "檢查點",
    "where_it_went": "善款去向",
    "where_date": "日期",
    "where_project": "項目或用途",
    "where_county": "縣（市、區）",
    "where_amount": "金額",
    "where_empty": "善款尚未撥付。撥付後，核驗頁面將隨之更新。",
    "covered_gifts": "本收據涵蓋的捐贈",
    "covered_serial": "原收據編號",
    "covered_received_on": "收到日期",
    "covered_amount": "金額",
    "covered_note": "本彙總收據所列捐贈與各原收據確認的是同一批捐贈，不得重複計算。",
    "total": "合計",
    "download_pdf": "下載 PDF",
    "language": "語言",
    "page": "第 {page} 頁",
    "where_what": "用途與地點",
    "where_fee": "銀行手續費",
    "covered_more": "其餘 {count} 筆（見網頁版收據）",
    "ack_issuer_not_configured": "本基金的開具機構尚未設定，請聯絡本平台更正。",
    "ack_title": "認捐確認函",
    "ack_serial": "確認函編號",
    "ack_lead": "茲確認收到您的下列認捐承諾，謹致謝忱。",
    "ack_not_receipt": (
        "本函確認的是認捐承諾，不是捐贈收據：款項到帳後，本機構將另行開具捐贈收據。"
    ),
    "ack_amount": "認捐金額",
    "pledged_on": "認捐日期",
    "due_on": "預計到帳",
    "due_open": "未約定",
    "ack_conditional": "認捐條件",
    "ack_conditional_yes": "附條件認捐：條件達成後入帳。",
    "ack_conditional_no": "無條件認捐。",
    "where_more": "其餘 {count} 項（明細見網頁版收據）",
    "where_scholarship": "助學金 · {place} · {term} · {count} 名學生",
    "where_transfer": "轉入基金 {fund}",
    "term_spring": "{year} 春",
    "term_autumn": "{year} 秋",
    "term_year": "{year} 學年",
    "issuer_not_configured": (
        "本基金的開具機構尚未設定：本收據暫不能作為捐贈憑證，請聯絡本平台更正。"
    ),
    "issuer_demo": "演示資料：開具機構名稱與代碼僅供演示，並非真實登記資訊。",
    "credit_code": "統一社會信用代碼",
    "not_configured": "未設定",
    "proof_compact": (
        "本筆捐贈已記入可公開驗證的帳本；完整證明（簽名聲明、記帳資料、包含證明）以附件 h"
        "uiquan-receipt-proof.json 嵌入本 PDF。"
    ),
    "checkpoint_size": "檢查點大小",
    "checkpoint_root": "檢查點根雜湊",
}

_EN: dict[str, str] = {
    "title": "Donation Receipt",
    "title_annual": "Annual Consolidated Donation Receipt",
    "subtitle": "捐赠收据",
    "subtitle_annual": "年度捐赠汇总收据",
    "registration_no": "Registration No.",
    "serial": "Receipt No.",
    "lead": "We acknowledge with thanks the gift described below.",
    "lead_annual": "We acknowledge with thanks the gifts received during the year, listed below.",
    "donor": "Donor",
    "anonymous_donor": "Anonymous donor",
    "anonymous_private_note": "You asked to stay anonymous: public pages do not show your name.",
    "received_on": "Date received",
    "issued_on": "Date issued",
    "kind": "Type of gift",
    "kind_cash": "Cash gift",
    "kind_foreign": "Foreign-currency gift",
    "kind_in_kind": "Gift in kind",
    "kind_pledge_payment": "Pledge payment",
    "kind_annual": "Annual summary",
    "amount": "Amount",
    "amount_in_kind": "Recorded value",
    "amount_annual": "Total for the year",
    "capitals": "人民币（大写）",
    "capitals_hint": "Amount in words, in Chinese capital numerals",
    "currency": "Currency",
    "original_amount": "Amount in original currency",
    "cny_value": "Value in CNY",
    "fx_rate": "Exchange rate",
    "fx_rate_value": "1 {currency} = {rate} CNY",
    "fx_source": "Rate source",
    "fx_date": "Rate date",
    "fund": "Fund",
    "purpose": "Purpose",
    "in_kind_description": "Description of goods",
    "in_kind_quantity": "Quantity",
    "valuation_basis": "Valuation basis",
    "in_kind_disclaimer": (
        "The value above is recorded on the valuation basis stated, for our books only. We do "
        "not vouch for the value of the goods, and this receipt is not a promise of value."
    ),
    "goods_or_services": "Goods or services",
    "goods_or_services_none": "No goods or services were provided in return for this gift.",
    "goods_or_services_some": "In return for this gift the donor received: {text}",
    "fiscal_receipt": "Tax receipt",
    "fiscal_code": "Tax receipt code",
    "fiscal_number": "Tax receipt No.",
    "fiscal_pending": (
        "This is our acknowledgment of your gift. The tax-deductible donation receipt "
        "(公益事业捐赠票据) is issued separately through the finance bureau's e-receipt platform."
    ),
    "signing_officer": "Authorised signatory",
    "stamp_caption": "Issued electronically",
    "void": "VOID",
    "void_notice": "This receipt has been voided and no longer acknowledges a gift.",
    "void_reason": "Reason: {reason}",
    "replaced_by": "It is replaced by receipt {serial}.",
    "replaces": "This receipt cancels and replaces receipt {serial}.",
    "verify": "Scan to verify",
    "entry_hash": "Entry hash",
    "proof": "Proof",
    "proof_hint": (
        "Recorded in a publicly verifiable ledger (RFC 6962 Merkle tree); "
        "with this data anyone can check it is unaltered."
    ),
    "leaf_index": "Leaf index",
    "inclusion_proof": "Inclusion proof",
    "checkpoint": "Checkpoint",
    "where_it_went": "Where my gift went",
    "where_date": "Date",
    "where_project": "Project or purpose",
    "where_county": "County",
    "where_amount": "Amount",
    "where_empty": "Not spent yet. The verification page is updated as the fund pays out.",
    "covered_gifts": "Gifts covered by this receipt",
    "covered_serial": "Receipt No.",
    "covered_received_on": "Date received",
    "covered_amount": "Amount",
    "covered_note": (
        "The gifts listed are the same gifts acknowledged by the receipts listed; "
        "they must not be counted twice."
    ),
    "total": "Total",
    "download_pdf": "Download PDF",
    "language": "Language",
    "page": "Page {page}",
    "where_what": "Purpose and place",
    "where_fee": "Bank fees",
    "covered_more": "{count} more gifts (on the web page)",
    "ack_issuer_not_configured": "This fund's issuing organisation is not configured yet.",
    "ack_title": "Pledge Acknowledgment",
    "ack_serial": "Acknowledgment No.",
    "ack_lead": "We acknowledge with thanks the pledge described below.",
    "ack_not_receipt": (
        "This letter acknowledges a promise; it is not a donation receipt. A re"
        "ceipt is issued when the money arrives."
    ),
    "ack_amount": "Amount pledged",
    "pledged_on": "Pledged on",
    "due_on": "Due",
    "due_open": "not agreed",
    "ack_conditional": "Condition",
    "ack_conditional_yes": "Conditional: recorded when the condition is met.",
    "ack_conditional_no": "Unconditional.",
    "where_more": "{count} more lines (all of them on the web page of this receipt)",
    "where_scholarship": "Scholarships · {place} · {term} · {count} students",
    "where_transfer": "Transfer to fund {fund}",
    "term_spring": "Spring {year}",
    "term_autumn": "Autumn {year}",
    "term_year": "{year} school year",
    "issuer_not_configured": (
        "This fund's issuing organisation is not configured: this receipt is not a valid "
        "acknowledgment until it is corrected."
    ),
    "issuer_demo": (
        "Demo data: the issuer's name and code are for demonstration only, not a real registration."
    ),
    "credit_code": "Unified Social Credit Code",
    "not_configured": "not configured",
    "proof_compact": (
        "This gift is recorded in a publicly verifiable ledger; the full proof (signed cl"
        "aims, ledger entries, inclusion proofs) is embedded in this PDF as huiquan-recei"
        "pt-proof.json."
    ),
    "checkpoint_size": "Tree size",
    "checkpoint_root": "Tree root",
}

#: Every message, by language.
MESSAGES: Mapping[Language, Mapping[str, str]] = {
    "zh-Hans": _ZH_HANS,
    "zh-Hant": _ZH_HANT,
    "en": _EN,
}


def messages(language: str) -> Mapping[str, str]:
    """The catalogue for one receipt language.

    Raises:
        ValueError: for a language the receipts are not written in.
    """
    if language not in LANGUAGES:
        raise ValueError(f"receipts are written in {', '.join(LANGUAGES)}, not {language!r}")
    return MESSAGES[language]


# -- places ---------------------------------------------------------------------------------------
#: Simplified -> traditional characters of the place names the books hold (GB/T 2260 counties,
#: towns and townships of the programmes). Characters not listed are the same in both scripts.
_HANT_CHARS = str.maketrans(
    dict(
        zip(
            "县区阳锦凉炉坝简镇乡红觉达华兴罗龙马东义纳",
            "縣區陽錦涼爐壩簡鎮鄉紅覺達華興羅龍馬東義納",
            strict=True,
        )
    )
)

#: English names of the places of the programmes (pinyin, or the name the place uses itself).
_EN_PLACES: Mapping[str, str] = {
    "炉霍县": "Luhuo County",
    "色达县": "Sertar County",
    "石渠县": "Sershul County",
    "理塘县": "Litang County",
    "壤塘县": "Zamtang County",
    "阿坝县": "Ngawa County",
    "红原县": "Hongyuan County",
    "昭觉县": "Zhaojue County",
    "布拖县": "Butuo County",
    "美姑县": "Meigu County",
    "越西县": "Yuexi County",
    "简阳市": "Jianyang",
    "锦江区": "Jinjiang District",
    "镇金镇": "Zhenjin Town",
    "踏水镇": "Tashui Town",
    "新都镇": "Xindu Town",
    "朱倭镇": "Zhuwo Town",
    "虾拉沱镇": "Xialatuo Town",
    "沙河街道": "Shahe Subdistrict",
    "甘孜州、阿坝州、凉山州": "Garzê, Ngawa and Liangshan prefectures",
}

_PREFECTURE = ("甘孜州", "阿坝州", "凉山州", "成都市")


def place_name(county: str, town: str, language: str) -> str:
    """A county (and town) as a receipt in `language` names it: "炉霍县 · 新都镇", "Luhuo County".

    The prefecture is left out ("甘孜州炉霍县" -> "炉霍县"); a name with no English form stays in
    Chinese on the English receipt.
    """
    for prefix in _PREFECTURE:
        if county.startswith(prefix) and len(county) > len(prefix):
            county = county.removeprefix(prefix)
            break
    parts = [p for p in (county, town) if p]
    if language == "en":
        return ", ".join(_EN_PLACES.get(p, p) for p in reversed(parts))
    text = " · ".join(parts)
    return text.translate(_HANT_CHARS) if language == "zh-Hant" else text
