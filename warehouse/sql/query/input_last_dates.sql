-- The last date each input of a book holds (transforms.staleness.INPUTS): daily series by
-- date, CPI and PPI by their last reference month, the FOMC calendar by its last
-- scheduled meeting, breadth by the later of NYSE issues and S&P 500 members.
SELECT 'SPX' AS input, (SELECT max(date) FROM core.spx_daily) AS last
UNION ALL SELECT 'VIX', (SELECT max(date) FROM core.vix_daily)
UNION ALL SELECT 'VX futures', (SELECT max(trade_date) FROM core.vx_futures
                                WHERE contract_type = 'monthly' AND settle IS NOT NULL)
UNION ALL SELECT 'VIX3M', (SELECT max(date) FROM core.vix3m_daily)
UNION ALL SELECT 'VVIX', (SELECT max(date) FROM core.vvix_daily)
UNION ALL SELECT 'T-bill 3m', (SELECT max(date) FROM core.tbill_3m_daily)
UNION ALL SELECT 'breadth', greatest((SELECT max(date) FROM core.nyse_breadth),
                                     (SELECT max(date) FROM core.sp500_breadth))
UNION ALL SELECT 'CPI', (SELECT max(reference_month) FROM core.macro_monthly
                         WHERE series_id = 'CPIAUCSL')
UNION ALL SELECT 'PPI', (SELECT max(reference_month) FROM core.macro_monthly
                         WHERE series_id = 'PPIACO')
UNION ALL SELECT 'FOMC calendar', (SELECT max(date) FROM core.fomc_meetings WHERE scheduled);
